#include "actions/durable.hpp"

#include <algorithm>
#include <thread>

#include "core/error.hpp"
#include "core/time.hpp"

namespace beamflow::actions::durable {

namespace stdfs = std::filesystem;

std::optional<Json> read_json(const stdfs::path& file) {
  std::error_code ec;
  if (!stdfs::exists(file, ec)) return std::nullopt;
  const std::string text = fs::read_file(file);
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    throw Error("action.state_corrupt", states_error::Runtime,
                "action state file is not valid JSON", {{"file", file.string()}});
  }
  return value;
}

void write_json(const stdfs::path& file, const Json& value) {
  fs::write_file_atomic(file, value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

Json to_json(const ActionState& state) {
  Json j = {{"status", to_string(state.status)}, {"details", state.details}};
  if (state.status == ActionStatus::Failed) {
    j["error"] = state.error;
    j["cause"] = state.cause;
  }
  return j;
}

std::optional<ActionState> load_result(const stdfs::path& state_dir, const std::string& action_id) {
  auto j = read_json(state_dir / kResultFile);
  if (!j) return std::nullopt;
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
  write_json(state_dir / kResultFile, to_json(state));
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
