#pragma once
// The coordinator's side of task execution: the queue of tasks the runs'
// drivers handed to the pilot, the worker ranks' state, the placement
// (placement.hpp) and the messages to and from the workers (wire.hpp).
//
// Every run's driver gets its own PilotExecutor (run/executor.hpp): start()
// queues the task and answers Active, poll() answers the final state once a
// worker reported it; a completion wakes that driver (Driver::wakeup()).
// Drivers call in from their own threads; pump() runs on the coordinator's
// loop thread. Nothing here is durable: a task whose outcome was not yet
// journaled by its run is sent again after a restart, and the action
// contract (run() idempotent in the action id) makes that a re-attach.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actions/action.hpp"
#include "core/json.hpp"
#include "pilot/channel.hpp"
#include "pilot/crashes.hpp"
#include "pilot/placement.hpp"
#include "pilot/run_log.hpp"
#include "pilot/wire.hpp"
#include "platform/events.hpp"
#include "run/executor.hpp"

namespace beamflow::pilot {

class Scheduler {
 public:
  // Light tasks in flight on one worker rank at most (they travel to it and
  // back in batches: one message carries many).
  static constexpr int kWindow = 128;
  // A worker that has sent nothing (its heartbeat is every second) for this
  // long is lost: it is placed nothing more and its running tasks go back to
  // the queue, to run elsewhere (their actions re-attach by action id, so a
  // command that still runs is not started twice). A lost worker that speaks
  // again is used again.
  static constexpr std::int64_t kLostAfterMs = 10'000;

  explicit Scheduler(Channel& channel, PlacementPolicy policy = {});
  ~Scheduler();

  // A pilot's: the crash counts (a task that reached the limit is failed
  // Pilot.TaskCrashed when its driver submits it; a rank lost by heartbeat
  // counts the task its mark names) and the runs' logs (placed, done,
  // failed, lost, with ranks and hosts). Set before the first pump(); both
  // outlive the scheduler.
  void observe(CrashCounts* crashes, RunLogs* logs) {
    m_crashes = crashes;
    m_logs = logs;
  }

  // The executor of run `run_id`'s driver; `wakeup` is that driver's.
  std::shared_ptr<run::Executor> executor(const std::string& run_id, fs::Wakeup& wakeup);
  // Wakes the driver(s) of `run_id` (so it reads its Interrupt).
  void wake(const std::string& run_id);
  // Readable when tasks were queued (pump() has placing to do).
  int fd() const noexcept { return m_queued.fd(); }

  // The loop thread's turn: receives the workers' messages, places what
  // fits, sends it. Returns the number of "bye" messages received so far.
  void pump();
  // Drain: nothing more is placed; running tasks are left to finish or to be
  // re-attached by the next pilot.
  void stop_placing();
  // Sends "stop" to every worker; done() once all said bye.
  void stop_workers();
  bool workers_stopped() const;

  // {"ranks":[{rank,host,busy,lost,busy_ms,idle_ms,utilisation,tasks_done}],
  //  "tasks":{queued,running,done}, "lost_ranks": n}
  Json status() const;

 private:
  class Executor;
  friend class Executor;
  enum class Phase { Queued, Running, Done };
  // A light task (an instant in-process action on one rank: echo, add) runs
  // on the worker's thread with up to kWindow others in flight on that rank;
  // a heavy one (a process of its own, several ranks, an asynchronous action
  // such as command) holds its ranks alone.
  enum Class { kHeavy = 0, kLight = 1 };
  // What every task of one run shares, held once per run (by its drivers'
  // executors and its entries) instead of copied into each task's entry.
  struct Run {
    std::string id;  // the flow a task belongs to, for fairness and logs
    actions::SharedPath dir;
    actions::SharedPath work_dir;
  };
  struct Entry {
    std::string key;  // the action id
    std::uint32_t slot = 0;
    // The executor (Executor::id) whose driver is told when it ends, and its
    // driver's handle of the task: the last to submit it.
    std::uint64_t owner = 0;
    run::TaskHandle owner_handle;
    std::shared_ptr<const Run> run;
    std::string action;
    // The request, less what `run` holds.
    Json input;
    std::string state_name;
    actions::SharedPath state_dir;  // the request's, shared
    int attempt = 0;
    actions::Placement placement;
    Need need;
    Class cls = kHeavy;
    std::uint64_t seq = 0;
    std::int64_t queued_ms = 0;
    std::int64_t placed_ms = 0;
    Phase phase = Phase::Queued;
    bool cancelled = false;
    std::vector<int> ranks;
    actions::ActionState result;
  };
  struct Rank {
    std::string host;
    int inflight = 0;        // tasks placed on it and not reported done
    bool exclusive = false;  // one of them is heavy
    std::int64_t busy_since_ms = 0;
    std::int64_t busy_ms = 0;
    std::int64_t tasks_done = 0;
    std::int64_t last_heard_ms = 0;
    bool lost = false;
    bool said_hello = false;  // its host is known
    // "rank N (host)": where() of a task on this rank alone, made when the
    // host is learnt rather than formatted for two log lines of every task.
    std::string label;
    int node = -1;  // its host's index in m_hosts; -1: to be found (set_host)
  };
  // Entries live in slots of one vector, reused. A task's handle (what
  // placement and the workers name it by) is its slot and the slot's
  // generation, counted up each time the slot is freed: no string is hashed
  // or compared on the way to a worker and back, and an outcome for a task
  // whose slot went to another since is refused (find(wire::Handle)).
  struct Slot {
    std::uint32_t gen = 0;
    bool used = false;
    Entry e;
  };
  // The queued tasks of one class: flow -> arrival order -> slot, so a round
  // of placement looks at the head of each flow, not at the whole queue.
  using Queue = std::map<std::string, std::map<std::uint64_t, std::uint32_t>>;

  // The entry of a task for executor `owner`, whose driver's handle of it
  // is `owner_handle`: filled on the driver's thread, outside m_mutex (the
  // copies of the request's parts are no time under the lock).
  static Entry prepare(const std::shared_ptr<const Run>& run, actions::Action& a, const actions::ActionRequest& r,
                       const actions::Placement& p, std::uint64_t owner, run::TaskHandle owner_handle);
  // Under m_mutex (submit and forget; the executor's flush() holds it for a batch).
  // Queues a prepared entry (or finds the task queued, running or done under
  // its action id: a re-attach) and returns its entry's handle, which the
  // calls below take; `done` tells that it has its outcome already (a
  // re-attach of a finished task, or a task failed Pilot.TaskCrashed).
  wire::Handle submit(Entry&& prepared, bool& done);
  // Drops an ended task (a stale handle, or a task not ended, is ignored).
  void forget(wire::Handle h);
  // These take m_mutex themselves.
  // Its outcome, or Active (for action id `key`) while it has none or `h`
  // is stale.
  actions::ActionState state_of(wire::Handle h, const std::string& key);
  // Whether a worker was asked to stop it (false: it was on no worker).
  bool cancel(wire::Handle h);
  // The entry `h` names, or null when its slot is free or has been reused
  // since `h` was given out (stale).
  Entry* find(wire::Handle h);
  static wire::Handle handle(std::uint32_t slot, std::uint32_t gen) noexcept {
    return static_cast<wire::Handle>(gen) << 32 | slot;
  }
  wire::Handle handle_of(const Entry& e) const noexcept;
  Entry& entry(std::uint32_t slot) { return m_slots[slot].e; }
  // Drops `e` and its id; free_slot() drops only the entry.
  void erase(Entry& e);
  void free_slot(std::uint32_t slot);
  // Returns w's id (Entry::owner).
  std::uint64_t attach(const std::string& run_id, Executor* w);
  void detach(const std::string& run_id, Executor* w);
  void notify_flow(const std::string& flow);
  void notify_done(const Entry& e);
  void completed(int rank, wire::Handle h, actions::ActionState st);
  void place();
  // One call of pilot::place over the heads of `cls`'s queue (at most
  // `per_flow` of each flow) and the ranks `usable` allows.
  template <class Usable>
  PlacementResult place_round(Class cls, std::size_t per_flow, Usable usable, std::int64_t now);
  void fail_impossible(const std::vector<TaskKey>& handles);
  void assign(wire::Handle h, std::vector<int> ranks, std::int64_t now, std::map<int, wire::TaskBatch>& batches);
  void enqueue(const Entry& e);
  void dequeue(const Entry& e);
  void free_ranks(const Entry& e, bool finished);
  void check_lost();
  // Counts a crash of the task rank `r` (lost) was executing; true when that
  // task is now to be failed Pilot.TaskCrashed rather than run again.
  bool crashed_on_lost_rank(int r, Entry& e);
  void crashed_out(Entry& e, const std::string& cause);
  void log(const std::string& run_id, const std::string& line);
  std::string where(const Entry& e) const;
  void set_host(std::size_t rank, std::string host);
  int node_of(const std::string& host);

  Channel& m_channel;
  PlacementPolicy m_policy;
  mutable std::mutex m_mutex;
  std::vector<Slot> m_slots;                               // index: slot
  std::vector<std::uint32_t> m_free;                       // slots to reuse
  // action id -> slot: a task submitted again (a re-attach) is found so;
  // every later call names it by handle.
  std::unordered_map<std::string, std::uint32_t> m_index;
  Queue m_queues[2];                                     // index: Class
  std::map<std::string, int> m_running;                  // flow -> its tasks on ranks now
  std::int64_t m_queued_count = 0, m_running_count = 0;
  std::map<std::string, std::set<Executor*>> m_owners;  // run id -> its drivers' executors
  std::vector<Rank> m_ranks;                             // index: rank (0 unused)
  bool m_hosts_known = false;                            // every worker said hello or was lost
  std::vector<std::string> m_hosts;                      // node index -> host
  // place_round()'s input to pilot::place, its storage kept across rounds.
  std::vector<QueuedTask> m_round_queue;
  std::vector<RankState> m_round_ranks;
  std::uint64_t m_seq = 0;
  std::uint64_t m_executors = 0;  // the last executor id given out (attach)
  std::int64_t m_started_ms = 0;
  std::int64_t m_done = 0;
  int m_byes = 0;
  bool m_placing = true;
  fs::Wakeup m_queued;
  // m_queued was notified and pump() has not drained it yet: one eventfd write
  // per round of placement, not one per task a driver queues.
  bool m_queued_pending = false;
  CrashCounts* m_crashes = nullptr;
  RunLogs* m_logs = nullptr;
};

}  // namespace beamflow::pilot
