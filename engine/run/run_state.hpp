#pragma once
// The state of one run as a pure fold over its records. No I/O: the engine
// feeds records in (live or replayed from the journal) and reads what work is
// due. A *frame* is one thread of execution: the root, a Parallel branch, or
// a Map iteration; child frame ids extend their parent's
// ("/Par#1.0[2]": branch 2 of the first visit, first attempt, of state Par).
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "lang/definition.hpp"
#include "run/record.hpp"

namespace beamflow::run {

enum class Phase {
  Ready,     // entered a state, nothing done yet
  Task,      // an action is scheduled / running
  TaskDone,  // the action's result is recorded, not yet acted on
  Waiting,   // Wait state timer
  Retrying,  // Retry interval timer
  Children,  // Parallel branches / Map iterations running
  Ended,
};

struct TaskInFlight {
  std::string action_id;
  std::string resource;
  Json input;  // effective input sent to the action
  int attempt = 0;
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> deadline_ms;
  std::optional<double> heartbeat_s;
  // Filled by TaskSucceeded / TaskFailed.
  bool ok = false;
  Json output;
  bool selected = false;  // output is already the state's ResultSelector result (TaskSucceeded "sel")
  FlowError error;
};

enum class ChildStatus : std::uint8_t { Pending, Running, Succeeded, Failed, Cancelled };

struct Children {
  std::size_t total = 0;
  std::vector<ChildStatus> status;
  std::vector<Json> outputs;  // per index: output, or {"Error","Cause"} of a failed item
  std::size_t started = 0, ended = 0, failed = 0;
  std::optional<FlowError> first_error;
  bool cancelling = false;       // a failure is tearing the others down
  std::optional<Json> items;     // Map: cached item list (derived, not journaled)
  // Map: no item before it is Pending (derived: items start in index order
  // and never become Pending again), so starting more does not rescan them.
  std::size_t first_pending = 0;
  std::size_t running() const noexcept { return started - ended; }
};

struct Frame {
  std::string id;
  std::optional<std::string> parent;
  std::size_t index = 0;  // position among its parent's children
  const lang::StateMachine* machine = nullptr;

  std::string state;
  Json input;  // raw input of the current state
  std::int64_t entered_ms = 0;
  std::map<std::string, int> visits;
  int visit = 0;     // visits[state] after entering it
  int attempt = 0;   // retries of the current state entry
  Phase phase = Phase::Ready;
  // The RunState's ready turn in which the frame was last queued ready:
  // queued at most once a turn (RunState::mark_ready).
  std::uint64_t ready_turn = 0;
  TaskInFlight task;
  std::vector<int> retry_counts;  // per retrier of the current state
  std::int64_t timer_ms = 0;      // Waiting / Retrying
  Children children;
  bool ok = false;
  Json output;
  FlowError error;

  const lang::State& def() const { return machine->state(state); }
};

struct RunInfo {
  std::string run_id;
  std::string name;
  std::string flow;
  std::string work_dir;
  std::int64_t started_ms = 0;
  Json input;
  std::string definition_sha256;  // of the definition the run started with
  std::string submission_id;      // RunOptions::submission_id; empty: none
};

class RunState {
 public:
  explicit RunState(std::shared_ptr<const lang::StateMachine> machine) : m_machine(std::move(machine)) {}

  // Folds one record in. Frames whose next step is due are queued (see
  // take_ready). Throws Error "run.replay" when a record contradicts the
  // state (a journal from a different definition, say).
  void apply(const Event& e);

  const RunInfo& info() const noexcept { return m_info; }
  const lang::StateMachine& machine() const noexcept { return *m_machine; }
  bool ended() const noexcept { return m_ended; }
  bool succeeded() const noexcept { return m_ok; }
  const Json& output() const noexcept { return m_output; }
  const FlowError& error() const noexcept { return m_error; }
  std::int64_t ended_ms() const noexcept { return m_ended_ms; }

  Frame* find(const std::string& id);
  const std::map<std::string, Frame>& frames() const noexcept { return m_frames; }

  // Frames that need the interpreter (Ready, TaskDone, Children bookkeeping),
  // in the order they became due; each id at most once.
  std::vector<std::string> take_ready();
  bool has_ready() const noexcept { return !m_ready.empty(); }
  // Timers (Waiting/Retrying) in due order.
  const std::set<std::pair<std::int64_t, std::string>>& timers() const noexcept { return m_timers; }
  // Frames with an action in flight (Phase::Task), in id order. Found by a
  // scan when asked (a re-attach, once a replay), not kept in a set: at a
  // Map's rate an insert and an erase of each task's frame id there (a node,
  // compares of ids with long shared prefixes) were a measured share of a task.
  std::vector<std::string> tasks() const;

  // After a replay: throws Error "run.replay" (context frame=) for a state
  // no writer leaves, one in which the run would wait for nothing forever
  // (a Parallel whose ChildrenStarted is there but not its branches'
  // StateEntered, which the same commit writes).
  void check_resumable() const;

  // Re-queues frames whose work is due after a replay (children bookkeeping
  // that a crash may have interrupted).
  void requeue_all();

 private:
  Frame& frame(const std::string& id);
  void set_phase(Frame& f, Phase p);
  void mark_ready(Frame& f);
  void end_child(Frame& child, ChildStatus status);
  void cancel_subtree(const std::string& id);

  std::shared_ptr<const lang::StateMachine> m_machine;
  RunInfo m_info;
  std::map<std::string, Frame> m_frames;
  std::deque<std::string> m_ready;
  // The turn of m_ready, counted up by take_ready(): a frame queued in this
  // turn has it as its ready_turn. It replaces a hashed set of the queued
  // ids, whose insert (a node, and a copy of a long id) at each frame made
  // ready and whose clear() at each turn were a measured share of a Map's task.
  std::uint64_t m_ready_turn = 1;
  std::set<std::pair<std::int64_t, std::string>> m_timers;
  bool m_ended = false;
  bool m_ok = false;
  Json m_output;
  FlowError m_error;
  std::int64_t m_ended_ms = 0;
};

}  // namespace beamflow::run
