#pragma once
// What a trigger hands to the pilot: the event that fired, the input its
// template makes, and the submission id that makes the hand-off exactly once.
//
// Placeholders, in any string of the input template (objects and arrays are
// walked; keys are left alone):
//   file events: {{path}} (absolute), {{relative_path}} (to the watched
//     directory), {{name}}, {{stem}} (name without its last extension),
//     {{dir}} (absolute directory), {{size}} (bytes), {{mtime}} (RFC 3339
//     UTC), {{mtime_ms}}, {{endpoint}} (the registration's endpoint name)
//   timers: {{instant}} (RFC 3339 UTC of the scheduled instant, not of the
//     firing), {{instant_ms}}
//   both: {{registration}} (its id), {{submission_id}}
// A string that is exactly one numeric placeholder ("{{size}}",
// "{{mtime_ms}}", "{{instant_ms}}") becomes a JSON number; anywhere else a
// placeholder is replaced by its text. "{{" not followed by a known name and
// "}}" is left as it is.
//
// Submission ids (pilot/intake.hpp's idempotent hand-off is the ledger):
//   file:  REG.f<first 32 hex digits of sha256(REG, device, inode, size, mtime_ns)>
//   timer: REG.t<instant_ms>
// The same file (same device, inode, size and mtime), seen by any number of
// events, rescans or watcher restarts, is one submission; a file rewritten
// (new size or mtime) is a new one.
#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "core/json.hpp"
#include "triggers/registration.hpp"

namespace beamflow::triggers {

struct FileEvent {
  std::string path;           // absolute
  std::string relative_path;  // to the registration's watch_dir
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t mtime_ns = 0;
};

// A file's modification time in nanoseconds since the epoch: what a
// FileEvent records and what the watcher compares to see a file unchanged.
std::int64_t mtime_ns(const struct stat& st);

// The event of the file at `path` (under r.watch_dir) as stat(2) found it.
FileEvent file_event(const Registration& r, std::string path, const struct stat& st);

std::string file_submission_id(const Registration& r, const FileEvent& e);
std::string timer_submission_id(const Registration& r, std::int64_t instant_ms);

Json file_input(const Registration& r, const FileEvent& e);
// The same, given the event's file_submission_id (a SHA-256 per file: a
// hand-off that made the id already does not make it twice).
Json file_input(const Registration& r, const FileEvent& e, const std::string& submission_id);
Json timer_input(const Registration& r, std::int64_t instant_ms);

// Timers: the latest scheduled instant <= now_ms, or -1 when none is at or
// after the registration (instants before it never fire), and the first
// instant > now_ms.
std::int64_t last_instant(const Registration& r, std::int64_t now_ms);
std::int64_t next_instant(const Registration& r, std::int64_t now_ms);

}  // namespace beamflow::triggers
