#pragma once
// Trigger registrations: what starts a flow by itself. A registration is a
// file watch (new files matching a glob in a directory, optionally its whole
// tree) or a timer (every N seconds, or at HH:MM UTC each day), with the flow
// definition and the input template it fills (event.hpp). Registrations are
// durable owner-only files in the pilot directory, D/triggers/ID.json (0600,
// written to a temporary name, fsync'ed and link(2)ed into place), so a
// watcher that starts later, or the pilot's coordinator, finds them.
//
// Idempotent by id (the seed's /register contract): adding the same id with
// the same content answers the existing registration; with a different
// content it throws trigger.registration.conflict and changes nothing.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::triggers {

struct Registration {
  std::string id;  // 1-64 letters, digits, '-', '_', '.', not starting with '.'
  // A file watch when watch_dir is set ...
  std::filesystem::path watch_dir;  // absolute
  std::string pattern;              // fnmatch glob on the file's name (FNM_PERIOD)
  bool recursive = false;
  double quiet_seconds = 10;  // a file unchanged (size, mtime) this long counts as written
  std::string endpoint;       // optional: the endpoint name the event reports
  // ... a timer otherwise: every `every_s` seconds (instants are multiples of
  // the period since the Unix epoch) and/or at each `at` time of day (UTC,
  // minutes after midnight).
  std::int64_t every_s = 0;
  std::vector<int> at_minutes;
  Json definition;      // the flow
  Json input_template;  // filled by the event (event.hpp)
  std::int64_t registered_at_ms = 0;  // not part of the content compared

  bool is_timer() const { return watch_dir.empty(); }
  // The content compared by add(): every field but registered_at_ms.
  Json content() const;
  Json to_json() const;
  static Registration from_json(const Json& j, const std::string& file);
};

// Checks a registration before it is stored: the id, a watch directory that
// exists and is a directory, a valid glob, a quiet time >= 0, a timer with a
// period or times, an object template. Throws trigger.registration.invalid.
void validate(const Registration& r);

// A glob this watcher accepts: non-empty, no '/', every '[' closed, no
// trailing '\'. Throws trigger.registration.invalid naming it.
void check_pattern(const std::string& pattern);

// "90", "90s", "10m", "2h", "1d" -> seconds (> 0). Throws
// trigger.registration.invalid.
std::int64_t parse_period(const std::string& text);
// "HH:MM" (UTC) -> minutes after midnight. Throws trigger.registration.invalid.
int parse_time_of_day(const std::string& text);

// The registrations of pilot directory `dir` (D/triggers/*.json), by id.
// Throws trigger.registration.invalid for a damaged file.
std::vector<Registration> list(const std::filesystem::path& dir);

struct AddResult {
  Registration registration;  // as stored
  bool existed = false;
};
// Validates and stores; prepares the pilot directory (pilot.dir.unsafe when
// it is not ours). Sets registered_at_ms on a new registration.
AddResult add(const std::filesystem::path& dir, Registration r);

// Removes registration `id`; throws trigger.registration.not_found.
void remove(const std::filesystem::path& dir, const std::string& id);

// D/triggers.
std::filesystem::path registrations_dir(const std::filesystem::path& dir);
// Prepares pilot directory `dir` and D/triggers (0700, ours; pilot.dir.unsafe
// otherwise); returns D/triggers.
std::filesystem::path prepare_registrations_dir(const std::filesystem::path& dir);

}  // namespace beamflow::triggers
