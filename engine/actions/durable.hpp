#pragma once
// Durable per-action state shared by the side-effecting built-ins: JSON files
// written atomically under ActionRequest::state_dir, the recorded outcome
// (result.json) that makes run() idempotent, blocking file locks, and
// RFC 3339 timestamps for what humans read.
#include <filesystem>
#include <optional>
#include <string>

#include "actions/action.hpp"
#include "platform/fs.hpp"

namespace beamflow::actions::durable {

inline constexpr const char* kResultFile = "result.json";

// nullopt when `file` does not exist. Throws Error "action.state_corrupt"
// when it exists but is not JSON (a crash never leaves one half-written:
// every file here is replaced atomically).
std::optional<Json> read_json(const std::filesystem::path& file);
// Atomic replace + fsync. Strings that are not valid UTF-8 are written with
// U+FFFD in place of the bad bytes rather than failing.
void write_json(const std::filesystem::path& file, const Json& value);
// Atomic replace without fsync: for a file that only the process started
// right after reads, and that a machine crash may lose harmlessly.
void replace_json(const std::filesystem::path& file, const Json& value);

// The outcome recorded in state_dir/result.json, if any.
std::optional<ActionState> load_result(const std::filesystem::path& state_dir,
                                       const std::string& action_id);
// Records a final (Succeeded/Failed) outcome and returns it.
//
// A large `details.json` (over kInlineJsonBytes) that is exactly the parse
// of state_dir/stdout (a command's JSON output) is not copied: result.json
// then holds {"status", "details" without "json", "json_ref": {"file":
// "stdout", "bytes", "sha256"}} and load_result parses the file again
// (checking its SHA-256), so a 15 MB JSON stdout is stored once and
// status() still returns the whole details.
ActionState save_result(const std::filesystem::path& state_dir, ActionState state);
inline constexpr std::size_t kInlineJsonBytes = 256 * 1024;
Json to_json(const ActionState& state);

// Waits for the exclusive lock on `file` (creating it). Only for short
// critical sections: the holders here never block while holding it.
fs::FileLock lock_wait(const std::filesystem::path& file);

// "2024-05-01T12:34:56.789Z" (core/time.hpp's format, for a time_point).
std::string rfc3339(Clock::time_point t);
// Milliseconds since the Unix epoch: how deadlines are stored.
long long epoch_ms(Clock::time_point t);
Clock::time_point from_epoch_ms(long long ms);

}  // namespace beamflow::actions::durable
