#include "pilot/wire.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/json_parse.hpp"

namespace beamflow::pilot::wire {
namespace {

constexpr char kTasks = '\x01';
constexpr char kDone = '\x02';
// A count of 4 bytes follows the kind byte: patched in by take().
constexpr std::size_t kHeader = 5;

[[noreturn]] void malformed(const std::string& what) {
  throw Error("pilot.wire", states_error::Runtime, "a pilot message is malformed: " + what);
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}
void put_i64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (8 * i)) & 0xff);
  out.append(b, 8);
}
void put_u64(std::string& out, std::uint64_t v) { put_i64(out, static_cast<std::int64_t>(v)); }
void put_str(std::string& out, std::string_view s) {
  if (s.size() > UINT32_MAX) malformed("a string of " + std::to_string(s.size()) + " bytes");
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
void put_json(std::string& out, const Json& j) {
  // CBOR straight into the message: its length is patched in afterwards.
  const std::size_t at = out.size();
  put_u32(out, 0);
  Json::to_cbor(j, out);
  const std::size_t n = out.size() - at - 4;
  if (n > UINT32_MAX) malformed("a value of " + std::to_string(n) + " bytes");
  for (int i = 0; i < 4; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
}

std::string finish(std::string& bytes, char kind, std::uint32_t& count) {
  if (bytes.empty()) bytes.assign(kHeader, '\0');
  bytes[0] = kind;
  for (int i = 0; i < 4; ++i) bytes[1 + static_cast<std::size_t>(i)] = static_cast<char>((count >> (8 * i)) & 0xff);
  count = 0;
  std::string out = std::move(bytes);
  bytes.clear();
  return out;
}

class Reader {
 public:
  explicit Reader(std::string_view b) : m_b(b) {}
  std::uint32_t u32() {
    need(4);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(m_b[m_at++])) << (8 * i);
    return v;
  }
  std::int64_t i64() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(m_b[m_at++])) << (8 * i);
    return static_cast<std::int64_t>(v);
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(m_b[m_at++]);
  }
  std::string str() {
    const std::uint32_t n = u32();
    need(n);
    std::string s(m_b.substr(m_at, n));
    m_at += n;
    return s;
  }
  Json json() {
    const std::uint32_t n = u32();
    need(n);
    const auto* p = reinterpret_cast<const std::uint8_t*>(m_b.data() + m_at);
    m_at += n;
    try {
      return parse_cbor(std::vector<std::uint8_t>(p, p + n), "pilot message");
    } catch (const Error& e) {
      malformed(e.message());
    }
  }
  // A count of items that each take at least `min_bytes`: never more than
  // the message can hold, so a corrupt count reserves nothing absurd.
  std::uint32_t count(std::size_t min_bytes) {
    const std::uint32_t n = u32();
    if (static_cast<std::uint64_t>(n) * min_bytes > m_b.size() - m_at) malformed("a count beyond the message");
    return n;
  }
  void expect_end() const {
    if (m_at != m_b.size()) malformed(std::to_string(m_b.size() - m_at) + " bytes after the last item");
  }

 private:
  void need(std::size_t n) const {
    if (m_b.size() - m_at < n) malformed("cut short at byte " + std::to_string(m_at));
  }
  std::string_view m_b;
  std::size_t m_at = 1;  // after the kind
};

}  // namespace

Kind kind_of(std::string_view bytes) noexcept {
  if (!bytes.empty() && bytes[0] == kTasks) return Kind::Tasks;
  if (!bytes.empty() && bytes[0] == kDone) return Kind::Done;
  return Kind::Json;
}

RequestView view_of(const actions::ActionRequest& r) noexcept {
  return {r.action_id, r.input, r.run_id, r.state_name, r.attempt, r.state_dir.native(), r.run_dir.native(),
          r.work_dir.native()};
}

void TaskBatch::add(Handle h, const std::string& action, const RequestView& r, const actions::Placement& p) {
  if (m_bytes.empty()) m_bytes.assign(kHeader, '\0');
  put_u64(m_bytes, h);
  put_str(m_bytes, action);
  put_str(m_bytes, r.action_id);
  put_json(m_bytes, r.input);
  put_str(m_bytes, r.run_id);
  put_str(m_bytes, r.state_name);
  put_i64(m_bytes, r.attempt);
  put_str(m_bytes, r.state_dir);
  put_str(m_bytes, r.run_dir);
  put_str(m_bytes, r.work_dir);
  put_i64(m_bytes, p.ranks);
  m_bytes.push_back(p.own_process ? '\1' : '\0');
  put_str(m_bytes, p.no_outcome.id);
  put_str(m_bytes, p.no_outcome.error);
  put_str(m_bytes, p.no_outcome.what);
  put_str(m_bytes, p.nodes);
  put_u32(m_bytes, static_cast<std::uint32_t>(p.hosts.size()));
  for (const auto& h : p.hosts) put_str(m_bytes, h);
  ++m_count;
}

std::string TaskBatch::take() { return finish(m_bytes, kTasks, m_count); }

void DoneBatch::add(Handle h, const actions::ActionState& s) {
  if (m_bytes.empty()) m_bytes.assign(kHeader, '\0');
  put_u64(m_bytes, h);
  m_bytes.push_back(static_cast<char>(s.status));
  put_json(m_bytes, s.details);
  put_str(m_bytes, s.error);
  put_str(m_bytes, s.cause);
  ++m_count;
}

std::string DoneBatch::take() { return finish(m_bytes, kDone, m_count); }

std::vector<Task> decode_tasks(std::string_view bytes) {
  if (kind_of(bytes) != Kind::Tasks) malformed("not a task batch");
  Reader in(bytes);
  std::vector<Task> out(in.count(64));  // a task is at least 13 lengths and 3 integers
  for (Task& t : out) {
    t.handle = static_cast<Handle>(in.i64());
    t.action = in.str();
    actions::ActionRequest& r = t.request;
    r.action_id = in.str();
    r.input = in.json();
    r.run_id = in.str();
    r.state_name = in.str();
    r.attempt = static_cast<int>(in.i64());
    r.state_dir = in.str();
    r.run_dir = in.str();
    r.work_dir = in.str();
    actions::Placement& p = t.placement;
    p.ranks = static_cast<int>(in.i64());
    p.own_process = in.u8() != 0;
    p.no_outcome.id = in.str();
    p.no_outcome.error = in.str();
    p.no_outcome.what = in.str();
    p.nodes = in.str();
    p.hosts.resize(in.count(4));
    for (auto& h : p.hosts) h = in.str();
  }
  in.expect_end();
  return out;
}

std::vector<Done> decode_done(std::string_view bytes) {
  if (kind_of(bytes) != Kind::Done) malformed("not an outcome batch");
  Reader in(bytes);
  std::vector<Done> out(in.count(21));  // a handle, a status and 3 lengths
  for (Done& d : out) {
    d.handle = static_cast<Handle>(in.i64());
    const std::uint8_t status = in.u8();
    if (status > static_cast<std::uint8_t>(actions::ActionStatus::Failed)) malformed("an unknown status");
    d.state.status = static_cast<actions::ActionStatus>(status);
    d.state.details = in.json();
    d.state.error = in.str();
    d.state.cause = in.str();
  }
  in.expect_end();
  return out;
}

Json parse(const std::string& bytes) {
  auto j = try_parse_json(bytes);
  if (!j || !j->is_object() || !j->contains("t") || !(*j)["t"].is_string())
    throw Error("pilot.wire", states_error::Runtime, "a pilot message is not a JSON object with a type",
                {{"bytes", bytes.substr(0, 200)}});
  return *j;
}

}  // namespace beamflow::pilot::wire
