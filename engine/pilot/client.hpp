#pragma once
// What the client commands (`beamflow status/wait/cancel --pilot DIR`) ask of
// a pilot directory, running pilot or not: they only read its files and
// drop requests into it (cancel/RUN_ID); the pilot acts on them.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "run/run_store.hpp"

namespace beamflow::pilot {

// A run of the pilot: its summary under runs/, or QUEUED while its
// submission waits in inbox/. Throws pilot.run.unknown when neither.
run::RunSummary find_run(const std::filesystem::path& dir, const std::string& run_id);

// {"pilot": the running pilot's status.json or null, "alive": whether a pilot
// holds the directory, "runs": {STATUS: count}, "queued": submissions waiting,
// "nodes": the running pilot's worker ranks by host, [{host, ranks, busy,
// lost}] (empty when no pilot runs)}
Json pilot_status(const std::filesystem::path& dir);

// Asks the pilot to cancel the run (durably: a pilot started later acts on
// it too). Throws pilot.run.unknown for an unknown run, pilot.run.ended when
// it has already ended (the summary is in the error's context).
// The run's log (D/runs/RUN_ID/log, run_log.hpp), whether it exists yet or not.
std::filesystem::path run_log_file(const std::filesystem::path& dir, const std::string& run_id);
// The state its log last names (the latest task placed on a rank or started
// on the coordinator); empty when none.
std::string current_state(const std::filesystem::path& dir, const std::string& run_id);

void request_cancel(const std::filesystem::path& dir, const std::string& run_id);

// Waits until the run has ended (SUCCEEDED or FAILED) and returns its
// summary; nullopt after `timeout` (zero: forever). No busy loop: woken by
// the run's status.json being replaced (inotify), with a 1 s fallback poll.
// `progress` is called at each look (when woken, at least every second).
std::optional<run::RunSummary> wait_for_run(const std::filesystem::path& dir, const std::string& run_id,
                                            std::chrono::milliseconds timeout,
                                            const std::function<void(const run::RunSummary&)>& progress = {});

// wait_for_run for many runs of one pilot directory, one after another
// (`beamflow wait ID...`), with one inotify instance for all of them, made
// at the first run that has not ended at its first look. An instance per
// run cost ~9 ms of wall time each (closing one waits for the kernel's
// grace period): 9 s for a wait of 1,000 runs that had all ended. A run
// found QUEUED is looked for only under runs/ afterwards (a queued run can
// only appear there), so a wake-up costs a stat rather than a read of every
// submission in inbox/.
class RunWaiter {
 public:
  explicit RunWaiter(std::filesystem::path dir);
  ~RunWaiter();
  RunWaiter(const RunWaiter&) = delete;
  RunWaiter& operator=(const RunWaiter&) = delete;
  std::optional<run::RunSummary> wait(const std::string& run_id, std::chrono::milliseconds timeout,
                                      const std::function<void(const run::RunSummary&)>& progress = {});

 private:
  struct Watch;
  run::RunSummary look(const std::string& run_id, bool& queued);
  std::filesystem::path m_dir;
  std::unique_ptr<Watch> m_watch;  // null until needed; its `dir` null when no instance could be had
};

}  // namespace beamflow::pilot
