#pragma once
// Executors: where a task's action runs. The driver asks the action where it
// must run (Action::placement) and hands it to an executor; every executor
// answers with the action contract's states (Active until done), so the
// driver never waits on one. See docs/architecture.md, "The driver".
//
//   InProcessExecutor     the action's own run/status/cancel/release, in the
//                         engine's process.
//   ChildProcessExecutor  `beamflow __action NAME STATE_DIR` (under
//                         `mpiexec -np R` for R > 1 ranks) under the
//                         crash-proof supervisor: durable outcome, re-attached
//                         after a crash of the engine, never run twice.
//   (the pilot, issue 10: an executor that places the task on worker ranks
//   and reports completions through an event source.)
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actions/action.hpp"

namespace beamflow::run {

// A launched task's handle, issued by the driver when it launches the task:
// the index of its slot in the driver's table of active tasks and the
// slot's generation, counted up each time the slot is freed. It comes with
// every call for that task, so an executor that keeps tasks of its own (the
// pilot's) finds one by index, and names progress by it, without hashing or
// comparing an action id; a handle whose slot was freed since (the task
// forgotten, or launched again) names no task. In memory only: the journal
// and the logs name tasks by their ids, never by a handle.
struct TaskHandle {
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;
  friend bool operator==(TaskHandle, TaskHandle) = default;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual const char* name() const noexcept = 0;
  // Starts the action, or re-attaches to it after a crash (idempotent in the
  // action_id). Returns its state now: Active, or final. `h` is the task's
  // handle for every later call (an executor need not use it).
  virtual actions::ActionState start(TaskHandle h, actions::Action& action, const actions::ActionRequest& r,
                                     const actions::Placement& p) = 0;
  virtual actions::ActionState poll(TaskHandle h, actions::Action& action, const actions::ActionRequest& r,
                                    const actions::Placement& p) = 0;
  // Asks the action to stop and returns at once, never waiting for its
  // outcome (a supervised process's is recorded by its supervisor later).
  virtual void cancel(TaskHandle h, actions::Action& action, const actions::ActionRequest& r,
                      const actions::Placement& p) = 0;
  virtual void release(TaskHandle h, actions::Action& action, const actions::ActionRequest& r,
                       const actions::Placement& p) = 0;
  // A directory whose new files mean the action may have progressed (the
  // driver watches it), or empty when there is none.
  virtual std::filesystem::path watch_dir(const actions::Action& action, const actions::ActionRequest& r) const = 0;
  // Whether a wake-up of the driver from this executor names what progressed
  // (take_progressed()): the driver then polls only those actions, not every
  // active one (a Map of 100,000 items would poll 100,000 per completion).
  virtual bool names_progress() const noexcept { return false; }
  // The handles of the tasks that progressed since the last call (any
  // order, maybe repeated, maybe stale); called on the driver's thread after
  // its wake-up fired.
  virtual std::vector<TaskHandle> take_progressed() { return {}; }
  // Hands over what start() and release() only queued: an executor shared
  // with another thread (the pilot's scheduler) may queue them and take its
  // lock once per batch. The driver calls it after each batch of events it
  // acted on and after a re-attach, before it polls or waits; start()'s
  // answer for a queued task is Active, and its real state is reported by
  // progress (take_progressed()) like any other.
  virtual void flush() {}
};

class InProcessExecutor final : public Executor {
 public:
  const char* name() const noexcept override { return "in-process"; }
  actions::ActionState start(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                             const actions::Placement&) override {
    return a.run(r);
  }
  actions::ActionState poll(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                            const actions::Placement&) override {
    return a.status(r);
  }
  void cancel(TaskHandle, actions::Action& a, const actions::ActionRequest& r, const actions::Placement&) override;
  void release(TaskHandle, actions::Action& a, const actions::ActionRequest& r, const actions::Placement&) override;
  // Asynchronous and side-effecting actions keep their state there.
  std::filesystem::path watch_dir(const actions::Action& a, const actions::ActionRequest& r) const override {
    return a.info().side_effects || !a.info().synchronous ? r.state_dir.path() : std::filesystem::path();
  }
};

class ChildProcessExecutor final : public Executor {
 public:
  const char* name() const noexcept override { return "child-process"; }
  actions::ActionState start(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                             const actions::Placement& p) override;
  actions::ActionState poll(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                            const actions::Placement& p) override;
  void cancel(TaskHandle, actions::Action& a, const actions::ActionRequest& r, const actions::Placement& p) override;
  void release(TaskHandle, actions::Action&, const actions::ActionRequest&, const actions::Placement&) override {}
  std::filesystem::path watch_dir(const actions::Action&, const actions::ActionRequest& r) const override {
    return r.state_dir;
  }
};

}  // namespace beamflow::run
