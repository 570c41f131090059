#include "actions/durable.hpp"

#include <algorithm>
#include <thread>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/hash.hpp"
#include "core/time.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::actions::durable {

namespace stdfs = std::filesystem;

std::optional<Json> read_json(const stdfs::path& file) {
  std::error_code ec;
  if (!stdfs::exists(file, ec)) return std::nullopt;
  const std::string text = fs::read_file(file);
  std::optional<Json> value = try_parse_json(text);  // depth-limited: too deep is corrupt too
  if (!value) {
    throw Error("action.state_corrupt", states_error::Runtime,
                "action state file is not valid JSON", {{"file", file.string()}});
  }
  return std::move(*value);
}

void write_json(const stdfs::path& file, const Json& value) {
  fs::write_file_atomic(file, dump_compact(value) + "\n");
}

void replace_json(const stdfs::path& file, const Json& value) {
  const std::string text = dump_compact(value) + "\n";
  fs::detail::replace_file(file, text.data(), text.size(), /*durable=*/false, "fs.write");
}

Json to_json(const ActionState& state) {
  Json j = {{"status", to_string(state.status)}, {"details", state.details}};
  if (state.status == ActionStatus::Failed) {
    j["error"] = state.error;
    j["cause"] = state.cause;
  }
  return j;
}

namespace {

constexpr const char* kJsonSource = "stdout";

// result.json's {"json_ref"} back into details.json.
void resolve_json_ref(const stdfs::path& state_dir, Json& j) {
  const Json ref = j["json_ref"];
  j.erase("json_ref");
  const stdfs::path file = state_dir / kJsonSource;
  auto corrupt = [&](const std::string& why) {
    return Error("action.state_corrupt", states_error::Runtime, "action result's JSON output " + why,
                 {{"file", file.string()}});
  };
  if (!ref.is_object() || ref.value("file", "") != kJsonSource || !ref.contains("sha256"))
    throw corrupt("reference is malformed");
  std::error_code ec;
  if (!stdfs::is_regular_file(file, ec)) throw corrupt("file is missing");
  const std::string text = fs::read_file(file);
  if (sha256_hex(text) != ref["sha256"]) throw corrupt("file changed since it was recorded");
  auto doc = try_parse_json(text);
  if (!doc) throw corrupt("file is no longer JSON");
  if (!j.contains("details") || !j["details"].is_object()) j["details"] = Json::object();
  j["details"]["json"] = std::move(*doc);
}

}  // namespace

std::optional<ActionState> load_result(const stdfs::path& state_dir, const std::string& action_id) {
  auto j = read_json(state_dir / kResultFile);
  if (!j) return std::nullopt;
  if (j->is_object() && j->contains("json_ref")) resolve_json_ref(state_dir, *j);
  const std::string status = j->value("status", "");
  if (status == "SUCCEEDED") return ActionState::succeeded(action_id, j->value("details", Json()));
  if (status == "FAILED") {
    ActionState s = ActionState::failed(action_id, j->value("error", ""), j->value("cause", ""));
    s.details = j->value("details", Json());
    return s;
  }
  throw Error("action.state_corrupt", states_error::Runtime,
              "action result has no final status (SUCCEEDED or FAILED)",
              {{"file", (state_dir / kResultFile).string()}, {"status", status}});
}

ActionState save_result(const stdfs::path& state_dir, ActionState state) {
  Json record = to_json(state);
  const stdfs::path source = state_dir / kJsonSource;
  std::error_code ec;
  if (state.details.is_object() && state.details.contains("json") && stdfs::is_regular_file(source, ec) &&
      stdfs::file_size(source, ec) > kInlineJsonBytes) {
    // Stored once: reference the file when details.json is exactly its parse.
    const std::string text = fs::read_file(source);
    if (auto doc = try_parse_json(text); doc && *doc == state.details["json"]) {
      record["details"].erase("json");
      record["json_ref"] = {{"file", kJsonSource}, {"bytes", text.size()}, {"sha256", sha256_hex(text)}};
    }
  }
  write_json(state_dir / kResultFile, record);
  return state;
}

fs::FileLock lock_wait(const stdfs::path& file) {
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    if (auto lock = fs::FileLock::try_acquire(file)) return std::move(*lock);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

long long epoch_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_epoch_ms(long long ms) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

std::string rfc3339(Clock::time_point t) { return format_time_ms(epoch_ms(t)); }

}  // namespace beamflow::actions::durable
