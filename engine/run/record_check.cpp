#include "run/record_check.hpp"

#include <string>

#include "core/error.hpp"

namespace beamflow::run {
namespace {

[[noreturn]] void bad(const Event& e, const char* key, const std::string& what) {
  throw Error("run.record", states_error::Runtime,
              std::string(to_string(e.type)) + " record: field '" + key + "' " + what,
              {{"record", to_string(e.type)}, {"field", key}});
}

enum class Need { Required, Optional };

const Json* field(const Event& e, const char* key, Need need) {
  auto it = e.body.find(key);
  if (it == e.body.end()) {
    if (need == Need::Required) bad(e, key, "is missing");
    return nullptr;
  }
  return &*it;
}

void string_field(const Event& e, const char* key, Need need = Need::Required) {
  if (const Json* v = field(e, key, need); v && !v->is_string()) bad(e, key, "must be a string");
}
void integer_field(const Event& e, const char* key, Need need = Need::Required) {
  if (const Json* v = field(e, key, need); v && !v->is_number_integer()) bad(e, key, "must be an integer");
}
void count_field(const Event& e, const char* key, std::size_t max, Need need = Need::Required) {
  const Json* v = field(e, key, need);
  if (!v) return;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0))
    bad(e, key, "must be a non-negative integer");
  if (v->get<std::uint64_t>() > max) bad(e, key, "is " + v->dump() + ", above the limit of " + std::to_string(max));
}
void number_field(const Event& e, const char* key, Need need = Need::Required) {
  if (const Json* v = field(e, key, need); v && !v->is_number()) bad(e, key, "must be a number");
}
void bool_field(const Event& e, const char* key) {
  if (!field(e, key, Need::Required)->is_boolean()) bad(e, key, "must be a boolean");
}
void error_fields(const Event& e) {
  string_field(e, "e");
  string_field(e, "c");
}

}  // namespace

void check_record(const Event& e) {
  if (!e.body.is_object()) throw Error("run.record", states_error::Runtime, "record body is not an object",
                                       {{"record", to_string(e.type)}});
  switch (e.type) {
    case RecordType::RunStarted:
      string_field(e, "run_id");
      if (e.body["run_id"].get_ref<const std::string&>().empty()) bad(e, "run_id", "is empty");
      string_field(e, "name", Need::Optional);
      string_field(e, "flow", Need::Optional);
      string_field(e, "work_dir");
      string_field(e, "definition_sha256", Need::Optional);
      string_field(e, "submission", Need::Optional);
      integer_field(e, "t");
      if (const Json* layout = field(e, "layout", Need::Optional)) {
        if (!layout->is_number_integer() || layout->get<std::int64_t>() < 2 || layout->get<std::int64_t>() > kRunDirLayout)
          bad(e, "layout", "must be an integer from 2 to " + std::to_string(kRunDirLayout) +
                               " (a newer layout needs a newer beamflow)");
        if (!field(e, "definition", Need::Required)->is_object()) bad(e, "definition", "must be an object");
      }
      return;
    case RecordType::StateEntered:
      string_field(e, "f");
      string_field(e, "s");
      integer_field(e, "t");
      string_field(e, "p", Need::Optional);
      count_field(e, "i", kMaxChildren, Need::Optional);
      if (e.body.contains("p") != e.body.contains("i")) bad(e, e.body.contains("p") ? "i" : "p", "must come with its pair (p, i)");
      if (const Json* err = field(e, "err", Need::Optional);
          err && !(err->is_object() && err->value("e", Json()).is_string() && err->value("c", Json()).is_string()))
        bad(e, "err", "must be {e, c} with string members");
      return;
    case RecordType::TaskScheduled:
      string_field(e, "f");
      string_field(e, "a");
      string_field(e, "r");
      integer_field(e, "att");
      integer_field(e, "t");
      integer_field(e, "dl", Need::Optional);
      number_field(e, "hb", Need::Optional);
      return;
    case RecordType::TaskSucceeded:
      string_field(e, "f");
      string_field(e, "a");
      return;
    case RecordType::TaskFailed:
      string_field(e, "f");
      string_field(e, "a");
      error_fields(e);
      return;
    case RecordType::RetryScheduled:
      string_field(e, "f");
      count_field(e, "k", 1u << 16);
      integer_field(e, "until");
      error_fields(e);
      return;
    case RecordType::RetryStarted:
    case RecordType::FrameCancelled:
      string_field(e, "f");
      return;
    case RecordType::WaitStarted:
      string_field(e, "f");
      integer_field(e, "until");
      return;
    case RecordType::ChildrenStarted:
      string_field(e, "f");
      count_field(e, "n", kMaxChildren);
      return;
    case RecordType::FrameEnded:
      string_field(e, "f");
      bool_field(e, "ok");
      if (!e.body["ok"].get<bool>()) error_fields(e);
      return;
    case RecordType::RunEnded: {
      string_field(e, "status");
      const std::string& status = e.body["status"].get_ref<const std::string&>();
      if (status != "SUCCEEDED" && status != "FAILED") bad(e, "status", "must be SUCCEEDED or FAILED, not '" + status + "'");
      if (status == "FAILED") error_fields(e);
      integer_field(e, "t");
      return;
    }
  }
  throw Error("run.record", states_error::Runtime, "unknown journal record type",
              {{"type", std::to_string(static_cast<unsigned>(e.type))}});
}

void check_history(const std::vector<Event>& events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    try {
      check_record(e);
      if ((i == 0) != (e.type == RecordType::RunStarted))
        throw Error("run.record", states_error::Runtime,
                    i == 0 ? std::string("the journal must begin with RunStarted, not ") + to_string(e.type)
                           : std::string("a second RunStarted"),
                    {{"record", to_string(e.type)}});
      if (i > 0 && events[i - 1].type == RecordType::RunEnded)
        throw Error("run.record", states_error::Runtime, "a record after RunEnded", {{"record", to_string(e.type)}});
    } catch (Error& err) {
      err.with("index", std::to_string(i + 1));
      throw;
    }
  }
}

}  // namespace beamflow::run
