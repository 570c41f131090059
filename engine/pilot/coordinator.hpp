#pragma once
// Rank 0 of a pilot: accepts submissions from the pilot directory
// (intake.hpp), drives each accepted run with the flow engine on a thread of
// its own (driver_threads.hpp: kept for a later run; at most `max_runs` runs
// at once), hands their tasks to the worker
// ranks (scheduler.hpp), acts on cancel requests, and publishes its state
// in DIR/status.json. At start it resumes the unfinished runs under
// DIR/runs and accepts what waits in DIR/inbox.
//
// SIGTERM, SIGINT (and SIGUSR1, Slurm's warning before the time limit)
// drain it: nothing more is accepted or placed, every driver returns leaving
// its run RUNNING and resumable, the workers are stopped, and run() returns
// 0 (a drain counts no crash). Each run's log is D/runs/RUN_ID/log
// (run_log.hpp). Everything that matters is in the runs' journals, committed before
// acting, so a pilot killed at any instant is as safe as a drained one.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "actions/action.hpp"
#include "journal/journal.hpp"
#include "pilot/channel.hpp"
#include "platform/signals.hpp"

namespace beamflow::pilot {

struct CoordinatorOptions {
  std::filesystem::path dir;
  std::size_t max_runs = 64;  // runs driven at once; the others wait in inbox/
  journal::Durability durability = journal::Durability::Fsync;
  // Group commit (platform/sync_group.hpp): with fsync durability, the
  // runs' creations and journal commits wait for one shared flush of D's
  // file system instead of syncs of their own (beamflow pilot
  // --no-group-commit turns it off; off by itself where D is not on a local
  // disk file system, fs::SyncGroup::suits).
  bool group_commit = true;
  // A task that brought a rank or the pilot down this many times is failed
  // Pilot.TaskCrashed when its run submits it again (0: never);
  // crashes.hpp says what counts.
  int max_task_crashes = 2;
  // One line per event worth a log (a run accepted, finished, refused).
  std::function<void(const std::string&)> log;
};

struct CoordinatorResult {
  int signal = 0;  // the signal that drained it
};

// Runs until one of `signals` arrives (block them with fs::SignalEvents
// before any thread starts, MPI's included). Throws pilot.dir.busy when
// another pilot runs on the directory.
CoordinatorResult run_coordinator(Channel& channel, const actions::ActionRegistry& registry,
                                  const CoordinatorOptions& options, fs::SignalEvents& signals);

}  // namespace beamflow::pilot
