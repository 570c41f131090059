#pragma once
// The driver of one run: the loop of decide (the pure interpreter) -> make
// durable (the journal) -> act (start, poll, cancel actions; fire timers) ->
// wait. See docs/architecture.md.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actions/action.hpp"
#include "journal/journal.hpp"
#include "platform/events.hpp"
#include "run/engine.hpp"
#include "run/executor.hpp"
#include "run/interpreter.hpp"
#include "run/run_state.hpp"
#include "run/run_store.hpp"

namespace beamflow::run {

// The result a finished (or recorded) run state stands for.
RunResult result_of(const RunState& s);

// Something else the driver waits on (the pilot's receiver of messages from
// worker ranks, a trigger's descriptor): when fd() is readable, on_ready()
// runs on the driver's thread, between two turns of its loop.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual int fd() const = 0;
  virtual void on_ready() = 0;
};

// Drives one run: the loop of decide → make durable → act → wait. Actions
// run on executors (run/executor.hpp) that never block the loop; the wait is
// one epoll_wait over the event sources: the action state directories
// (inotify), a wake-up eventfd, added sources, and the earliest timer,
// deadline or status poll as its timeout.
class Driver {
 public:
  Driver(const actions::ActionRegistry& registry, RunDirectory& dir, RunState& state, journal::Writer& writer,
         const RunOptions& options);

  Interpreter& interpreter() { return m_interp; }

  // After a replay: re-attach every action that was in flight.
  void reattach();
  RunResult run();
  void commit_and_act();
  // The run's start, for begin_run: the states the start made ready are
  // stepped too (unless the run is interrupted already), so the first
  // commit holds their transitions (the first task's TaskScheduled) beside
  // RunStarted, one sync instead of two. Commits it; what it holds is acted
  // on by act_on_start(), after the caller has done what must follow the
  // run's existence and precede any action (RunOptions::on_started).
  void commit_start();
  void act_on_start();

  // Waits on `source` too (not owned; must outlive the driver's run()).
  void add_source(EventSource& source);
  // Wakes the loop from any thread: the actions the routed executor names
  // (Executor::take_progressed) are polled at once, or every action when it
  // names none.
  fs::Wakeup& wakeup() noexcept { return m_wakeup; }

 private:
  void act(const Event& e);
  // Appends and commits m_outbox: durable when it returns. Returns what it committed.
  std::vector<Event> commit_outbox();
  void act_on(const std::vector<Event>& committed);
  actions::ActionRequest request_for(const Frame& f);
  void launch(const std::string& frame_id, bool reattach);
  // An action the engine is waiting on.
  struct Active {
    actions::Action* action = nullptr;
    actions::ActionRequest request;
    actions::Placement placement;
    Executor* executor = nullptr;
    TaskHandle handle;  // its slot in m_handles (Executor calls name it so)
    std::uint64_t launched = 0;  // its launch's number: m_due's order among equal turns
    int watch = -1;  // inotify watch of the state directory
    std::int64_t next_poll_ms = 0;
    std::int64_t last_sign_of_life_ms = 0;
  };
  using ActiveMap = std::map<std::string, Active>;
  using ActiveEntry = ActiveMap::value_type;
  void set_next_poll(ActiveEntry& entry, std::int64_t at);
  void poll_now(const std::string& frame_id);

  void cancel(Active& a);
  void cancel_subtree(const std::string& frame_id);
  void drain_results();
  void fire_due_timers();
  void check_deadlines();
  void wait_for_events();
  void poll_due();
  // Polls one active action; a final state joins m_results.
  void poll(ActiveEntry& entry, std::int64_t now);
  Executor& executor_for(const actions::Placement& p);
  void watch(const std::string& frame_id, Active& a);
  ActiveMap::iterator forget(ActiveMap::iterator it);
  // Every active action forgotten (the run ended or was drained).
  void forget_all();
  // A handle for `entry`, freed by forget(); the entry a handle names, or
  // null when its slot was freed since (stale).
  TaskHandle issue_handle(ActiveEntry& entry);
  ActiveEntry* entry_of(TaskHandle h) const noexcept;
  void free_handle(ActiveEntry& entry);

  const actions::ActionRegistry& m_registry;
  RunDirectory& m_dir;
  RunState& m_state;
  journal::Writer& m_writer;
  const RunOptions& m_options;
  std::mt19937_64 m_rng;
  std::vector<Event> m_outbox;
  // Empty: the storage of a batch acted on, for the next outbox (up to
  // kSpareEvents events, ~2 MB).
  std::vector<Event> m_spare;
  static constexpr std::size_t kSpareEvents = 4096;
  std::vector<std::uint8_t> m_encoded;  // the record commit_outbox() is appending
  std::vector<Event> m_start;           // committed by commit_start(), not yet acted on
  Interpreter m_interp;
  ActiveMap m_active;
  InProcessExecutor m_in_process;
  ChildProcessExecutor m_child_process;
  fs::Poller m_poller;
  // Made at the first action with a state directory to watch: a pilot's
  // drivers hand every task to its executor and need none, and each
  // inotify instance counts against a per-user limit (128 by default).
  std::optional<fs::DirWatch> m_dirs;
  fs::Wakeup m_wakeup;
  std::shared_ptr<Executor> m_routed;  // RunOptions::executor: takes every task
  std::map<int, std::string> m_watched;  // inotify watch -> frame id
  // The active actions by their next poll, so a turn of the loop costs what
  // is due rather than what is active. It and m_handles point into
  // m_active's nodes (stable until forget() erases them, which erases these
  // first) rather than copy the frame and action ids: at a Map's rate those
  // copies, and finding the frame again by its id, were a measured share of
  // a task.
  struct DueOrder {
    bool operator()(const std::pair<std::int64_t, ActiveEntry*>& a,
                    const std::pair<std::int64_t, ActiveEntry*>& b) const noexcept {
      return a.first != b.first ? a.first < b.first : a.second->second.launched < b.second->second.launched;
    }
  };
  // Equal turns (a batch launched in one millisecond) are ordered by launch,
  // not by frame id: comparing ids that share long prefixes was a measured
  // share of a Map's task.
  std::set<std::pair<std::int64_t, ActiveEntry*>, DueOrder> m_due;
  std::uint64_t m_launches = 0;  // Active::launched
  // The tasks' handles (TaskHandle): index = slot. A routed executor names
  // the tasks that progressed by handle, so a completion finds its entry
  // without hashing an id.
  struct HandleSlot {
    std::uint32_t gen = 0;
    ActiveEntry* entry = nullptr;  // null: free
  };
  std::vector<HandleSlot> m_handles;
  std::vector<std::uint32_t> m_free_handles;  // slots of m_handles to reuse
  // "RUN_DIR/actions/": an action's state directory is this and its id.
  std::string m_action_prefix;
  // What every request of the run shares (actions::SharedPath): the run's
  // directory, and the working directory of its RunStarted.
  actions::SharedPath m_run_dir, m_work_dir;
  std::set<std::string> m_timed;  // active frames with a deadline or a heartbeat
  std::vector<EventSource*> m_sources;
  std::vector<std::pair<std::string, actions::ActionState>> m_results;
};

}  // namespace beamflow::run
