#pragma once
// The flow engine's entry points: start a run, resume a run. The engine
// drives the interpreter (run/interpreter.hpp, pure), makes every transition
// durable in the run's journal before acting on it, and talks to actions
// through the action-provider contract.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actions/action.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "journal/journal.hpp"

namespace beamflow::fs {
class SyncGroup;
class Wakeup;
}

namespace beamflow::run {

class Executor;

// What an outside controller (the pilot) asks of a running driver; read at
// every turn of its loop (wake it with the Wakeup the executor factory got).
enum class Interrupt {
  None,
  Cancel,  // fail the run with Run.Cancelled (its active actions are cancelled)
  Stop,    // return at once, leaving the run RUNNING and resumable (a drain)
};

enum class RunStatus { Running, Succeeded, Failed };
const char* to_string(RunStatus s) noexcept;  // "RUNNING", "SUCCEEDED", "FAILED"

struct RunOptions {
  std::filesystem::path runs_root;           // where run directories live
  std::optional<std::string> run_id;          // generated (time-ordered, unique) when absent
  std::optional<std::string> name;            // $$.Execution.Name; defaults to the run id
  journal::Durability durability = journal::Durability::Fsync;
  // Group commit (platform/sync_group.hpp): the run's creation and its
  // journal's commits wait for the group's flush of the file system instead
  // of syncs of their own, one flush serving every run that commits meanwhile
  // (the pilot's). Not owned; must outlive the run. Null: the run syncs its
  // own files (fsync/fdatasync).
  fs::SyncGroup* sync_group = nullptr;
  std::filesystem::path work_dir;             // relative paths in action inputs; default: cwd
  std::string flow_file;                      // shown by `beamflow runs`
  // The pilot's submission this run is started from: kept in its RunStarted
  // and its status.json, so that a pilot at its start tells from runs/ alone
  // which submissions of accepted/ have their run (it reads only the others).
  std::string submission_id;
  std::size_t max_payload_bytes = 16u << 20;  // any state input/output larger fails the run
  // Called with each history event as it is recorded (for `run --verbose`).
  std::function<void(const Json& event)> observer;
  // Where tasks run instead of the driver's own executors (the pilot):
  // called once per driver with the driver's wake-up, which the executor
  // notifies when a task it holds has progressed.
  std::function<std::shared_ptr<Executor>(fs::Wakeup& wakeup)> executor;
  // Called once the run's journal holds its start (RunStarted): by start()
  // after that first commit, by resume() once the run is open and replayed
  // (after its first commit, for a run killed before it), before it acts.
  std::function<void()> on_started;
  // Write status.json (RUNNING) once a fresh run's start is durable. The
  // pilot turns it off: its runs write status.json once, at their end (one
  // file fewer to create per run), and until then summarize_run() tells a
  // run without one by its lock and its journal's first record.
  bool status_at_start = true;
  // Write status.json when a fresh run ends. The pilot turns it off too: its
  // runs' summaries are their journals' RunEnded (summarize_run), and a flow
  // creates one file fewer; a run whose journal outgrew what a summary reads
  // at once (kSummaryHeadBytes) still writes it, and resume() always does.
  bool status_at_end = true;
  // Asked at every turn of the driver's loop.
  std::function<Interrupt()> interrupt;
};

struct RunResult {
  std::string run_id;
  RunStatus status = RunStatus::Running;
  Json output;      // when Succeeded
  FlowError error;  // when Failed
  // {"run_id","status","output"} or {"run_id","status","error","cause"}
  Json to_json() const;
};

class Engine {
 public:
  explicit Engine(const actions::ActionRegistry& actions) : m_actions(actions) {}

  // Validates `definition` (throws InvalidDefinition, see lang/definition.hpp),
  // creates the run directory and drives the run to completion.
  RunResult start(const Json& definition, const Json& input, const RunOptions& options);

  // Continues a run whose process died. Throws Error "run.locked" when another
  // process drives it, "run.not_found" when there is no such run. A finished
  // run returns its recorded result.
  RunResult resume(const std::string& run_id, const RunOptions& options);

 private:
  const actions::ActionRegistry& m_actions;
};

}  // namespace beamflow::run
