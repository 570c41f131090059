#include "run/record.hpp"

#include "core/error.hpp"
#include "core/json_parse.hpp"

#include <cstring>

namespace beamflow::run {

const char* to_string(RecordType t) noexcept {
  switch (t) {
    case RecordType::RunStarted: return "RunStarted";
    case RecordType::StateEntered: return "StateEntered";
    case RecordType::TaskScheduled: return "TaskScheduled";
    case RecordType::TaskSucceeded: return "TaskSucceeded";
    case RecordType::TaskFailed: return "TaskFailed";
    case RecordType::RetryScheduled: return "RetryScheduled";
    case RecordType::RetryStarted: return "RetryStarted";
    case RecordType::WaitStarted: return "WaitStarted";
    case RecordType::ChildrenStarted: return "ChildrenStarted";
    case RecordType::FrameEnded: return "FrameEnded";
    case RecordType::FrameCancelled: return "FrameCancelled";
    case RecordType::RunEnded: return "RunEnded";
  }
  return "Unknown";
}

namespace {

constexpr std::uint8_t kCompactForm = 0x01;

bool compact(RecordType t) {
  return t == RecordType::TaskScheduled || t == RecordType::TaskSucceeded || t == RecordType::StateEntered ||
         t == RecordType::FrameEnded;
}

template <typename T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);  // little endian: x86-64 and aarch64 as built
}

void put_str(std::vector<std::uint8_t>& out, const std::string& s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void encode_task(RecordType type, const TaskRecord& r, std::vector<std::uint8_t>& out) {
  out.push_back(kCompactForm);
  put_str(out, r.f);
  put_str(out, r.a);
  if (type == RecordType::TaskScheduled) {
    put_str(out, r.r);
    put(out, r.att);
    put(out, r.t);
    put(out, static_cast<std::uint8_t>(r.dl.has_value()));
    if (r.dl) put(out, *r.dl);
    put(out, static_cast<std::uint8_t>(r.hb.has_value()));
    if (r.hb) put(out, *r.hb);
  } else {
    put(out, static_cast<std::uint8_t>(r.sel));
    put(out, r.t);
  }
  Json::to_cbor(r.data, out);
}

void encode_entry(const EntryRecord& r, std::vector<std::uint8_t>& out) {
  out.push_back(kCompactForm);
  put_str(out, r.f);
  put_str(out, r.s);
  put(out, r.t);
  put(out, static_cast<std::uint8_t>(r.p.has_value()));
  if (r.p) {
    put_str(out, *r.p);
    put(out, r.i);
  }
  put(out, static_cast<std::uint8_t>(r.err.has_value()));
  if (r.err) {
    put_str(out, r.err->first);
    put_str(out, r.err->second);
  }
  Json::to_cbor(r.in, out);
}

void encode_end(const EndRecord& r, std::vector<std::uint8_t>& out) {
  out.push_back(kCompactForm);
  put_str(out, r.f);
  Json::to_cbor(r.out, out);
}

// Reads the compact form; nullopt when the bytes run short.
class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& p) : m_p(p) {}
  template <typename T>
  bool get(T& v) {
    if (m_p.size() - m_at < sizeof v) return false;
    std::memcpy(&v, m_p.data() + m_at, sizeof v);
    m_at += sizeof v;
    return true;
  }
  bool get_str(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || m_p.size() - m_at < n) return false;
    s.assign(reinterpret_cast<const char*>(m_p.data() + m_at), n);
    m_at += n;
    return true;
  }
  template <typename T>
  bool get_opt(std::optional<T>& v) {
    std::uint8_t has = 0;
    if (!get(has) || has > 1) return false;
    if (has) {
      T x{};
      if (!get(x)) return false;
      v = x;
    }
    return true;
  }
  std::size_t at() const noexcept { return m_at; }

 private:
  const std::vector<std::uint8_t>& m_p;
  std::size_t m_at = 1;  // past the form byte
};

// The compact form's last field: the CBOR item after the fixed ones, or
// run.record when those ran short (`ok` false) or it is not CBOR.
Json compact_tail(RecordType type, const std::vector<std::uint8_t>& payload, const Reader& in, bool ok) {
  if (!ok)
    throw Error("run.record", states_error::Runtime, "journal record body (compact form) is cut short",
                {{"type", to_string(type)}});
  const std::vector<std::uint8_t> rest(payload.begin() + static_cast<std::ptrdiff_t>(in.at()), payload.end());
  try {
    return parse_cbor(rest, std::string("journal record ") + to_string(type));
  } catch (const Error& e) {
    throw Error("run.record", states_error::Runtime, "journal record body (compact form) is not CBOR: " + e.message(),
                {{"type", to_string(type)}});
  }
}

TaskRecord decode_task(RecordType type, const std::vector<std::uint8_t>& payload) {
  TaskRecord r;
  Reader in(payload);
  bool ok = in.get_str(r.f) && in.get_str(r.a);
  if (ok && type == RecordType::TaskScheduled) {
    ok = in.get_str(r.r) && in.get(r.att) && in.get(r.t) && in.get_opt(r.dl) && in.get_opt(r.hb);
  } else if (ok) {
    std::uint8_t sel = 0;
    ok = in.get(sel) && sel <= 1 && in.get(r.t);
    r.sel = sel == 1;
  }
  r.data = compact_tail(type, payload, in, ok);
  return r;
}

EntryRecord decode_entry(const std::vector<std::uint8_t>& payload) {
  EntryRecord r;
  Reader in(payload);
  std::uint8_t has_p = 0, has_err = 0;
  bool ok = in.get_str(r.f) && in.get_str(r.s) && in.get(r.t) && in.get(has_p) && has_p <= 1;
  if (ok && has_p) ok = in.get_str(r.p.emplace()) && in.get(r.i);
  ok = ok && in.get(has_err) && has_err <= 1;
  if (ok && has_err) {
    auto& err = r.err.emplace();
    ok = in.get_str(err.first) && in.get_str(err.second);
  }
  r.in = compact_tail(RecordType::StateEntered, payload, in, ok);
  return r;
}

EndRecord decode_end(const std::vector<std::uint8_t>& payload) {
  EndRecord r;
  Reader in(payload);
  const bool ok = in.get_str(r.f);
  r.out = compact_tail(RecordType::FrameEnded, payload, in, ok);
  return r;
}

Event decode_compact(RecordType type, const std::vector<std::uint8_t>& payload) {
  switch (type) {
    case RecordType::StateEntered: return Event{decode_entry(payload)};
    case RecordType::FrameEnded: return Event{decode_end(payload)};
    default: return Event{type, Json(), decode_task(type, payload)};
  }
}

}  // namespace

const std::string& frame_of(const Event& e) {
  if (e.task) return e.task->f;
  if (e.entry) return e.entry->f;
  if (e.end) return e.end->f;
  static const std::string none;
  const auto it = e.body.find("f");
  return it != e.body.end() && it->is_string() ? it->get_ref<const std::string&>() : none;
}

Json body_of(const Event& e) {
  if (e.entry) {
    const EntryRecord& r = *e.entry;
    Json j = {{"f", r.f}, {"s", r.s}, {"in", r.in}, {"t", r.t}};
    if (r.p) {
      j["p"] = *r.p;
      j["i"] = r.i;
    }
    if (r.err) j["err"] = {{"e", r.err->first}, {"c", r.err->second}};
    return j;
  }
  if (e.end) return {{"f", e.end->f}, {"ok", true}, {"out", e.end->out}};
  if (!e.task) return e.body;
  const TaskRecord& r = *e.task;
  if (e.type == RecordType::TaskScheduled) {
    Json j = {{"f", r.f}, {"a", r.a}, {"r", r.r}, {"in", r.data}, {"att", r.att}, {"t", r.t}};
    if (r.dl) j["dl"] = *r.dl;
    if (r.hb) j["hb"] = *r.hb;
    return j;
  }
  Json j = {{"f", r.f}, {"a", r.a}, {"out", r.data}, {"t", r.t}};
  if (r.sel) j["sel"] = true;
  return j;
}

TaskRecord task_record(RecordType type, const Json& b) {
  TaskRecord r;
  r.f = b.value("f", std::string());
  r.a = b.value("a", std::string());
  r.t = b.value("t", std::int64_t{0});
  if (type == RecordType::TaskScheduled) {
    r.r = b.value("r", std::string());
    r.data = b.value("in", Json());
    r.att = b.value("att", std::int64_t{0});
    if (b.contains("dl")) r.dl = b["dl"].get<std::int64_t>();
    if (b.contains("hb")) r.hb = b["hb"].get<double>();
  } else {
    r.data = b.value("out", Json());
    r.sel = b.contains("sel") && b["sel"] == true;
  }
  return r;
}

EntryRecord entry_record(const Json& b) {
  EntryRecord r;
  r.f = b.value("f", std::string());
  r.s = b.value("s", std::string());
  r.in = b.value("in", Json());
  r.t = b.value("t", std::int64_t{0});
  if (b.contains("p")) {
    r.p = b.value("p", std::string());
    r.i = b.value("i", std::uint64_t{0});
  }
  if (const auto err = b.find("err"); err != b.end() && err->is_object())
    r.err.emplace(err->value("e", std::string()), err->value("c", std::string()));
  return r;
}

std::vector<std::uint8_t> encode(const Event& e) {
  std::vector<std::uint8_t> out;
  encode_into(e, out);
  return out;
}

void encode_into(const Event& e, std::vector<std::uint8_t>& out) {
  out.clear();
  if (e.task && compact(e.type)) encode_task(e.type, *e.task, out);
  else if (e.entry && e.type == RecordType::StateEntered) encode_entry(*e.entry, out);
  else if (e.end && e.type == RecordType::FrameEnded) encode_end(*e.end, out);
  else Json::to_cbor(e.body, out);
}

Event decode(std::uint16_t type, const std::vector<std::uint8_t>& payload) {
  if (type < static_cast<std::uint16_t>(RecordType::RunStarted) ||
      type > static_cast<std::uint16_t>(RecordType::RunEnded)) {
    throw Error("run.record", states_error::Runtime, "unknown journal record type",
                {{"type", std::to_string(type)}});
  }
  if (compact(static_cast<RecordType>(type)) && !payload.empty() && payload[0] == kCompactForm) {
    Event e = decode_compact(static_cast<RecordType>(type), payload);
    e.body = body_of(e);
    return e;
  }
  Json body;
  try {
    body = parse_cbor(payload, std::string("journal record ") + to_string(static_cast<RecordType>(type)));
  } catch (const Error& e) {
    // Too deep (json.too_deep: never built, so never a stack overflow) or not CBOR.
    throw Error("run.record", states_error::Runtime, "journal record body is not a CBOR object: " + e.message(),
                {{"type", to_string(static_cast<RecordType>(type))}});
  }
  if (!body.is_object()) {
    throw Error("run.record", states_error::Runtime, "journal record body is not a CBOR object",
                {{"type", to_string(static_cast<RecordType>(type))}});
  }
  return Event{static_cast<RecordType>(type), std::move(body)};
}

}  // namespace beamflow::run
