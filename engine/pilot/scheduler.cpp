#include "pilot/scheduler.hpp"

#include <algorithm>
#include <utility>

#include "actions/command_spec.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "pilot/wire.hpp"

namespace beamflow::pilot {

using actions::ActionState;

// The executor of one run's driver. Tasks that need no rank (Placement::ranks
// 0: a timer, an approval) stay on the coordinator, in process.
class Scheduler::Executor final : public run::Executor {
 public:
  Executor(Scheduler& s, std::string run_id, fs::Wakeup& wakeup)
      : m_s(s), m_run_id(std::move(run_id)), m_wakeup(wakeup), m_id(m_s.attach(m_run_id, this)) {}
  ~Executor() override {
    flush_releases();
    m_s.detach(m_run_id, this);
  }
  const char* name() const noexcept override { return "pilot"; }
  ActionState start(run::TaskHandle h, actions::Action& a, const actions::ActionRequest& r,
                    const actions::Placement& p) override {
    if (p.ranks != 0) {
      // Queued until flush(): one lock of the scheduler per batch of the
      // driver's starts (run/executor.hpp).
      m_starts.push_back(prepare(run_of(r), a, r, p, m_id, h));
      if (m_tasks.size() <= h.slot) m_tasks.resize(h.slot + 1);
      m_tasks[h.slot] = Task{h.gen, true, true, 0};
      return ActionState::active(r.action_id, std::chrono::milliseconds(60'000));
    }
    m_s.log(m_run_id, "started " + r.state_name + " (" + a.info().name + ") task " + r.action_id +
                          " on the coordinator (it only waits)" +
                          (r.attempt > 0 ? ", retry " + std::to_string(r.attempt) : std::string()));
    return logged(r, m_local.start(h, a, r, p));
  }
  ActionState poll(run::TaskHandle h, actions::Action& a, const actions::ActionRequest& r,
                   const actions::Placement& p) override {
    if (p.ranks == 0) return logged(r, m_local.poll(h, a, r, p));
    const Task* t = task(h);
    if (!t || t->queued) return ActionState::active(r.action_id, std::chrono::milliseconds(60'000));  // a stale handle
    return m_s.state_of(t->entry, r.action_id);
  }
  void cancel(run::TaskHandle h, actions::Action& a, const actions::ActionRequest& r,
              const actions::Placement& p) override {
    if (p.ranks == 0) return m_local.cancel(h, a, r, p);
    if (Task* t = task(h); t && t->queued) {
      drop_start(h);  // never reached the scheduler: on no worker, as a queued one
      t->used = false;
    } else if (t && m_s.cancel(t->entry)) {
      return;
    }
    // On no worker now (queued: re-sent after a restart, not yet placed), but
    // a supervised process an earlier pilot started may still run, on any
    // node: ask it through its state directory, from here (the cancel file;
    // a signal only on its own node, actions/supervised.hpp).
    std::error_code ec;
    if (!std::filesystem::exists(r.state_dir / actions::command::files::kStarted, ec)) return;
    if (p.own_process) m_child.cancel(h, a, r, p);
    else m_local.cancel(h, a, r, p);
  }
  void release(run::TaskHandle h, actions::Action& a, const actions::ActionRequest& r,
               const actions::Placement& p) override {
    if (p.ranks != 0) {
      if (Task* t = task(h)) {
        if (t->queued) drop_start(h);
        else m_released.push_back(t->entry);  // forgotten by flush(), with the batch's starts
        t->used = false;
      }
    }
    m_local.release(h, a, r, p);  // frees what the action keeps (the pilot directory is shared)
  }
  void flush() override {
    if (m_starts.empty() && m_released.empty()) return;
    const std::lock_guard<std::mutex> lock(m_s.m_mutex);
    // Releases first: they came before any start of the same action id in
    // the batch (a start after a release under one id is a new task).
    forget_released();
    for (Entry& e : m_starts) {
      const run::TaskHandle h = e.owner_handle;
      bool done = false;
      Task* t = task(h);  // still queued: cancel() and release() drop a start from m_starts
      const wire::Handle entry = m_s.submit(std::move(e), done);
      if (!t) continue;
      t->entry = entry;
      t->queued = false;
      if (done) progressed(h);  // its outcome is read by the driver's next poll
    }
    m_starts.clear();
  }
  std::filesystem::path watch_dir(const actions::Action& a, const actions::ActionRequest& r) const override {
    // A worker's completion wakes the driver; a local task's files do.
    if (a.placement(r).ranks == 0) return m_local.watch_dir(a, r);
    return {};
  }
  // A completion names its task, so the driver polls that one alone.
  bool names_progress() const noexcept override { return true; }
  std::vector<run::TaskHandle> take_progressed() override {
    const std::lock_guard<std::mutex> lock(m_s.m_mutex);
    return std::exchange(m_progressed, {});
  }
  // Under the scheduler's mutex.
  void progressed(run::TaskHandle h) {
    m_progressed.push_back(h);
    if (m_progressed.size() == 1) m_wakeup.notify();  // a wake-up already pending covers the rest
  }
  void wake() { m_wakeup.notify(); }
  std::uint64_t id() const noexcept { return m_id; }

 private:
  // A task the driver handed to the scheduler: its entry's handle there.
  struct Task {
    std::uint32_t gen = 0;  // of the driver's handle
    bool used = false;
    bool queued = false;  // in m_starts, not yet submitted: no entry yet
    wire::Handle entry = 0;
  };
  // A start queued in m_starts, dropped (cancelled or released before the
  // batch's flush).
  void drop_start(run::TaskHandle h) {
    std::erase_if(m_starts, [&](const Entry& e) {
      return e.owner_handle.slot == h.slot && e.owner_handle.gen == h.gen;
    });
  }
  // The releases queued since the last flush(), forgotten now; under the
  // scheduler's mutex.
  void forget_released() {
    for (const wire::Handle e : m_released) m_s.forget(e);
    m_released.clear();
  }
  // The same, from the executor's end (its driver's last batch was flushed,
  // but a release may follow it: the run's end).
  void flush_releases() {
    if (m_released.empty()) return;
    const std::lock_guard<std::mutex> lock(m_s.m_mutex);
    forget_released();
  }
  // The task the driver's handle `h` names, or null when it names none (its
  // slot since given to another task of the driver's, or released).
  Task* task(run::TaskHandle h) noexcept {
    if (h.slot >= m_tasks.size()) return nullptr;
    Task& t = m_tasks[h.slot];
    return t.used && t.gen == h.gen ? &t : nullptr;
  }
  // The run's shared part of `r`, made again only if its directories moved.
  const std::shared_ptr<const Run>& run_of(const actions::ActionRequest& r) {
    if (!m_run || !(m_run->dir == r.run_dir) || !(m_run->work_dir == r.work_dir))
      m_run = std::make_shared<const Run>(Run{m_run_id, r.run_dir, r.work_dir});
    return m_run;
  }
  // The end of a task kept on the coordinator, in the run's log.
  ActionState logged(const actions::ActionRequest& r, ActionState st) {
    if (st.done())
      m_s.log(m_run_id, (st.status == actions::ActionStatus::Succeeded ? "done " : "failed ") + r.state_name +
                            " task " + r.action_id + " on the coordinator" +
                            (st.status == actions::ActionStatus::Succeeded ? "" : ": " + st.error + ": " + st.cause));
    return st;
  }

  Scheduler& m_s;
  std::string m_run_id;
  fs::Wakeup& m_wakeup;
  const std::uint64_t m_id;  // Entry::owner
  run::InProcessExecutor m_local;
  run::ChildProcessExecutor m_child;  // only to cancel (above)
  std::shared_ptr<const Run> m_run;   // run_of()
  std::vector<Task> m_tasks;          // index: the driver's handle's slot; the driver's thread only
  std::vector<run::TaskHandle> m_progressed;  // under the scheduler's mutex
  // Queued for flush(), the driver's thread only.
  std::vector<Entry> m_starts;
  std::vector<wire::Handle> m_released;
};

Scheduler::Scheduler(Channel& channel, PlacementPolicy policy)
    : m_channel(channel), m_policy(policy), m_ranks(static_cast<std::size_t>(channel.size())), m_started_ms(now_ms()) {
  for (auto& r : m_ranks) r.last_heard_ms = m_started_ms;
  for (std::size_t r = 1; r < m_ranks.size(); ++r) set_host(r, {});
}

void Scheduler::set_host(std::size_t rank, std::string host) {
  Rank& k = m_ranks[rank];
  k.host = std::move(host);
  k.label = "rank " + std::to_string(rank) + " (" + k.host + ")";
  k.node = -1;
}

Scheduler::~Scheduler() = default;

std::shared_ptr<run::Executor> Scheduler::executor(const std::string& run_id, fs::Wakeup& wakeup) {
  return std::make_shared<Executor>(*this, run_id, wakeup);
}

std::uint64_t Scheduler::attach(const std::string& run_id, Executor* w) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_owners[run_id].insert(w);
  return ++m_executors;
}

void Scheduler::detach(const std::string& run_id, Executor* w) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  auto it = m_owners.find(run_id);
  if (it == m_owners.end()) return;
  it->second.erase(w);
  if (it->second.empty()) m_owners.erase(it);
}

void Scheduler::wake(const std::string& run_id) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  notify_flow(run_id);
}

void Scheduler::notify_flow(const std::string& flow) {
  if (auto it = m_owners.find(flow); it != m_owners.end())
    for (Executor* w : it->second) w->wake();
}

void Scheduler::notify_done(const Entry& e) {
  if (auto it = m_owners.find(e.run->id); it != m_owners.end())
    for (Executor* w : it->second)
      if (w->id() == e.owner) w->progressed(e.owner_handle);
}

Scheduler::Entry* Scheduler::find(wire::Handle h) {
  const auto slot = static_cast<std::uint32_t>(h & 0xffff'ffffu);
  const auto gen = static_cast<std::uint32_t>(h >> 32);
  if (slot >= m_slots.size() || !m_slots[slot].used || m_slots[slot].gen != gen) return nullptr;
  return &m_slots[slot].e;
}

wire::Handle Scheduler::handle_of(const Entry& e) const noexcept { return handle(e.slot, m_slots[e.slot].gen); }

void Scheduler::erase(Entry& e) {
  const std::uint32_t slot = e.slot;
  m_index.erase(e.key);
  free_slot(slot);
}

void Scheduler::free_slot(std::uint32_t slot) {
  Slot& s = m_slots[slot];
  s.e = Entry{};  // frees what it held now, not when the slot is reused
  s.used = false;
  ++s.gen;
  m_free.push_back(slot);
}

Scheduler::Entry Scheduler::prepare(const std::shared_ptr<const Run>& run, actions::Action& a,
                                    const actions::ActionRequest& r, const actions::Placement& p, std::uint64_t owner,
                                    run::TaskHandle owner_handle) {
  Entry e;
  e.key = r.action_id;
  e.owner = owner;
  e.owner_handle = owner_handle;
  e.run = run;
  e.action = a.info().name;
  e.input = r.input;
  e.state_name = r.state_name;
  e.state_dir = r.state_dir;
  e.attempt = r.attempt;
  e.placement = p;
  e.need.ranks = std::max(1, p.ranks);
  e.need.one_job = p.ranks > 1;
  // Its ranks run as one job (platform::nested_launch): on one node unless
  // the action asks for them spread or packed over nodes.
  if (e.need.one_job) e.need.nodes = node_policy(p.nodes, NodePolicy::OneNode);
  e.cls = !p.own_process && p.ranks <= 1 && a.info().synchronous ? kLight : kHeavy;
  return e;
}

wire::Handle Scheduler::submit(Entry&& prepared, bool& done) {
  auto [it, fresh] = m_index.try_emplace(prepared.key, 0);
  if (!fresh) {
    // Started again (a re-attach): keep the running one; its progress now
    // goes to this driver's handle.
    Entry& e = entry(it->second);
    e.owner = prepared.owner;
    e.owner_handle = prepared.owner_handle;
    done = e.phase == Phase::Done;
    return handle_of(e);
  }
  if (m_free.empty()) {
    m_free.push_back(static_cast<std::uint32_t>(m_slots.size()));
    m_slots.emplace_back();
  }
  const std::uint32_t slot = m_free.back();
  m_free.pop_back();
  it->second = slot;
  m_slots[slot].used = true;
  Entry& e = entry(slot);
  e = std::move(prepared);
  e.slot = slot;
  e.seq = m_seq++;
  e.queued_ms = now_ms();
  if (m_crashes) {
    if (auto why = m_crashes->exhausted(e.key)) {
      crashed_out(e, *why);
      done = true;
      return handle_of(e);
    }
  }
  enqueue(e);
  if (!m_queued_pending) {
    m_queued_pending = true;
    m_queued.notify();
  }
  done = false;
  return handle_of(e);
}

void Scheduler::enqueue(const Entry& e) {
  m_queues[e.cls][e.run->id].emplace(e.seq, e.slot);
  ++m_queued_count;
}

void Scheduler::dequeue(const Entry& e) {
  Queue& q = m_queues[e.cls];
  auto f = q.find(e.run->id);
  if (f == q.end() || !f->second.erase(e.seq)) return;
  if (f->second.empty()) q.erase(f);
  --m_queued_count;
}

ActionState Scheduler::state_of(wire::Handle h, const std::string& key) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  const Entry* e = find(h);
  if (e && e->phase == Phase::Done) return e->result;
  return ActionState::active(key, std::chrono::milliseconds(60'000));
}

bool Scheduler::cancel(wire::Handle h) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  Entry* e = find(h);
  if (!e) return false;
  const std::string& key = e->key;
  if (e->phase == Phase::Running) {
    // Kept until the worker reports the end: its ranks are busy until then.
    e->cancelled = true;
    m_channel.send(e->ranks.front(), Json{{"t", "cancel"}, {"h", handle_of(*e)}}.dump());
    log(e->run->id, "cancel " + e->state_name + " task " + key + " on " + where(*e));
    return true;
  }
  if (e->phase == Phase::Queued) dequeue(*e);
  erase(*e);
  return false;
}

void Scheduler::forget(wire::Handle h) {
  Entry* e = find(h);
  if (!e || e->phase != Phase::Done) return;
  erase(*e);
}

void Scheduler::pump() {
  {
    // Tasks queued from here on notify again; those queued before are
    // placed below, in this turn.
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_queued_pending = false;
    m_queued.drain();
  }
  for (auto& env : m_channel.receive()) {
    if (env.from <= 0 || env.from >= static_cast<int>(m_ranks.size())) continue;
    // One message reports every task the worker finished in one turn,
    // decoded before the lock is taken.
    std::vector<wire::Done> done;
    bool readable = true;
    if (wire::kind_of(env.bytes) == wire::Kind::Done) {
      try {
        done = wire::decode_done(env.bytes);
      } catch (const std::exception&) {
        readable = false;  // dropped, as below
      }
    }
    const std::lock_guard<std::mutex> lock(m_mutex);
    Rank& from = m_ranks[static_cast<std::size_t>(env.from)];
    from.last_heard_ms = now_ms();
    from.lost = false;
    if (!readable) continue;
    if (wire::kind_of(env.bytes) == wire::Kind::Done) {
      for (auto& d : done) completed(env.from, d.handle, std::move(d.state));
      continue;
    }
    try {
      const Json m = wire::parse(env.bytes);
      const std::string type = m.at("t").get<std::string>();
      if (type == "hello") {
        set_host(static_cast<std::size_t>(env.from), m.at("host").get<std::string>());
        from.said_hello = true;
      } else if (type == "bye") {
        ++m_byes;
      }
    } catch (const std::exception&) {
      // A message this coordinator cannot read (another beamflow version on
      // a worker?) is dropped; its task is retried after a restart.
    }
  }
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    check_lost();
    place();
  }
  if (m_logs) m_logs->flush();  // the runs whose lines are due (run_log.hpp)
}

void Scheduler::check_lost() {
  const std::int64_t now = now_ms();
  for (std::size_t r = 1; r < m_ranks.size(); ++r) {
    Rank& rank = m_ranks[r];
    if (rank.lost || now - rank.last_heard_ms <= kLostAfterMs) continue;
    rank.lost = true;
    // The task whose code it was executing when it fell silent, if any.
    const auto mark = m_crashes ? read_mark(m_crashes->pilot_dir(), static_cast<int>(r)) : std::nullopt;
    // Its tasks run again elsewhere; the ranks they held are free, but this
    // one is placed nothing until it speaks again.
    for (Slot& slot : m_slots) {
      Entry& e = slot.e;
      if (!slot.used || e.phase != Phase::Running ||
          std::find(e.ranks.begin(), e.ranks.end(), static_cast<int>(r)) == e.ranks.end())
        continue;
      log(e.run->id, "lost " + e.state_name + " task " + e.key + " on " + where(e) + ": silent for " +
                      std::to_string((now - rank.last_heard_ms) / 1000) + " s");
      free_ranks(e, false);
      if (e.cancelled) {
        erase(e);  // nothing left to wait for
        continue;
      }
      if (mark && mark->key == e.key && crashed_on_lost_rank(static_cast<int>(r), e)) continue;
      e.phase = Phase::Queued;
      e.ranks.clear();
      enqueue(e);
    }
  }
}

bool Scheduler::crashed_on_lost_rank(int r, Entry& e) {
  const std::string& key = e.key;
  Executing x{key, e.run->id, e.action, m_ranks[static_cast<std::size_t>(r)].host, r};
  const int n = m_crashes->count(x);
  log(e.run->id, "crash " + std::to_string(n) + " of " + e.state_name + " task " + key +
                  ": rank " + std::to_string(r) + " was executing it when it fell silent (limit " +
                  std::to_string(m_crashes->limit()) + ")");
  auto why = m_crashes->exhausted(key);
  if (!why) return false;
  crashed_out(e, *why);
  notify_done(e);
  return true;
}

void Scheduler::crashed_out(Entry& e, const std::string& cause) {
  e.phase = Phase::Done;
  e.ranks.clear();
  e.result = ActionState::failed(e.key, "Pilot.TaskCrashed", cause);
  log(e.run->id, "failed " + e.state_name + " (" + e.action + ") task " + e.key + ": Pilot.TaskCrashed: " + cause);
  // Written now, as the crashes counted at the pilot's start are: another
  // task that keeps crashing may take this pilot down before the next
  // round's flush, and the run's failure is journaled (its driver reads it
  // at its next poll) whether the pilot lives on or not.
  if (m_logs) m_logs->flush_all();
}

void Scheduler::log(const std::string& run_id, const std::string& line) {
  if (m_logs) m_logs->add(run_id, line);
}

std::string Scheduler::where(const Entry& e) const {
  if (e.ranks.size() == 1) return m_ranks[static_cast<std::size_t>(e.ranks.front())].label;
  std::string ranks, hosts;
  for (int r : e.ranks) {
    const std::string& host = m_ranks[static_cast<std::size_t>(r)].host;
    ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
    if (hosts.find(host) == std::string::npos) hosts += (hosts.empty() ? "" : ",") + host;
  }
  return (e.ranks.size() > 1 ? "ranks " : "rank ") + ranks + " (" + hosts + ")";
}

void Scheduler::completed(int rank, wire::Handle h, ActionState st) {
  // A stale handle (its slot freed or reused since: a lost rank's late
  // report of a task placed again and finished elsewhere) names no task.
  Entry* found = find(h);
  if (!found || found->phase != Phase::Running || found->ranks.front() != rank) return;
  Entry& e = *found;
  if (m_logs) {
    // Appended into one string: a chain of operator+ made a string per step,
    // at two lines a task (here and in assign()).
    const bool ok = st.status == actions::ActionStatus::Succeeded;
    std::string line;
    line.reserve(128);
    line.append(ok ? "done " : "failed ").append(e.state_name).append(" task ").append(e.key);
    line.append(" on ").append(where(e)).append(" in ").append(std::to_string(now_ms() - e.placed_ms)).append(" ms");
    if (!ok) line.append(": ").append(st.error).append(": ").append(st.cause);
    log(e.run->id, line);
  }
  free_ranks(e, true);
  ++m_done;
  if (e.cancelled) {
    erase(e);
    return;
  }
  st.action_id = e.key;
  e.result = std::move(st);
  e.phase = Phase::Done;
  notify_done(e);
}

void Scheduler::free_ranks(const Entry& e, bool finished) {
  const std::int64_t now = now_ms();
  for (int r : e.ranks) {
    Rank& rank = m_ranks[static_cast<std::size_t>(r)];
    rank.inflight = std::max(0, rank.inflight - 1);
    if (e.cls == kHeavy) rank.exclusive = false;
    if (rank.inflight == 0) rank.busy_ms += now - rank.busy_since_ms;
    if (finished) ++rank.tasks_done;
  }
  if (auto f = m_running.find(e.run->id); f != m_running.end() && --f->second <= 0) m_running.erase(f);
  --m_running_count;
}

int Scheduler::node_of(const std::string& host) {
  auto it = std::find(m_hosts.begin(), m_hosts.end(), host);
  if (it != m_hosts.end()) return static_cast<int>(it - m_hosts.begin());
  m_hosts.push_back(host);
  return static_cast<int>(m_hosts.size()) - 1;
}

template <class Usable>
PlacementResult Scheduler::place_round(Class cls, std::size_t per_flow, Usable usable, std::int64_t now) {
  // The queue's flow names are viewed, not copied: nothing leaves the
  // queues before pilot::place returns.
  std::vector<QueuedTask>& queue = m_round_queue;
  queue.clear();
  for (const auto& [flow, tasks] : m_queues[cls]) {
    std::size_t n = 0;
    for (const auto& [seq, slot] : tasks) {
      if (n++ == per_flow) break;
      const Entry& e = entry(slot);
      queue.push_back({handle_of(e), flow, e.need, seq, now - e.queued_ms});
    }
  }
  if (queue.empty()) return {};
  std::vector<RankState>& ranks = m_round_ranks;
  ranks.clear();
  for (std::size_t r = 1; r < m_ranks.size(); ++r) {
    Rank& k = m_ranks[r];
    if (k.node < 0) k.node = node_of(k.host);
    ranks.push_back({static_cast<int>(r), k.node, usable(static_cast<int>(r)), !k.lost, 0});
  }
  return pilot::place(queue, ranks, m_running, m_policy);
}

void Scheduler::fail_impossible(const std::vector<TaskKey>& handles) {
  for (const TaskKey h : handles) {
    Entry& e = *find(h);  // placement names only what it was given: queued entries
    const std::string& key = e.key;
    dequeue(e);
    e.phase = Phase::Done;
    log(e.run->id, "failed " + e.state_name + " (" + e.action + ") task " + key + ": Pilot.TaskImpossible");
    e.result = ActionState::failed(key, "Pilot.TaskImpossible",
                                   "the task needs " + std::to_string(e.need.ranks) + " ranks" +
                                       (e.need.nodes == NodePolicy::OneNode ? " on one node" : "") +
                                       "; this pilot has " + std::to_string(m_ranks.size() - 1) + " worker ranks");
    notify_done(e);
  }
}

void Scheduler::assign(wire::Handle h, std::vector<int> ranks, std::int64_t now,
                       std::map<int, wire::TaskBatch>& batches) {
  Entry& e = *find(h);  // placement names only what it was given: queued entries
  const std::string& key = e.key;
  dequeue(e);
  e.phase = Phase::Running;
  e.ranks = std::move(ranks);
  e.placed_ms = now;
  ++m_running[e.run->id];
  ++m_running_count;
  e.placement.hosts.clear();  // where its ranks are: a job over several nodes starts there
  for (int r : e.ranks) {
    Rank& rank = m_ranks[static_cast<std::size_t>(r)];
    e.placement.hosts.push_back(rank.host);
    if (rank.inflight++ == 0) rank.busy_since_ms = now;
    if (e.cls == kHeavy) rank.exclusive = true;
  }
  if (m_logs) {
    std::string line;
    line.reserve(128);
    line.append("placed ").append(e.state_name).append(" (").append(e.action).append(") task ").append(key);
    line.append(" on ").append(where(e));
    if (e.attempt > 0) line.append(", retry ").append(std::to_string(e.attempt));
    line.append(", queued ").append(std::to_string(now - e.queued_ms)).append(" ms");
    log(e.run->id, line);
  }
  batches[e.ranks.front()].add(h, e.action,
                             wire::RequestView{key, e.input, e.run->id, e.state_name, e.attempt, e.state_dir.native(),
                                               e.run->dir.native(), e.run->work_dir.native()},
                             e.placement);
}

void Scheduler::place() {
  if (!m_placing || m_queued_count == 0) return;
  // Not before every worker has said where it runs (or is lost): a rank
  // without a host looks like a rank of one shared node, so a task queued
  // at start (re-sent after a restart) that must spread over nodes would be
  // judged impossible, and a one-node task could get ranks on two.
  if (!m_hosts_known) {
    for (std::size_t r = 1; r < m_ranks.size(); ++r)
      if (!m_ranks[r].said_hello && !m_ranks[r].lost) return;
    m_hosts_known = true;
  }
  const std::int64_t now = now_ms();
  std::map<int, wire::TaskBatch> batches;  // rank -> the tasks it is sent in one message
  auto idle = [&](int r) { return m_ranks[static_cast<std::size_t>(r)].inflight == 0; };
  const std::size_t workers = m_ranks.size() - 1;
  // Heavy tasks first, on idle ranks; each round places at most one task per
  // rank, so rounds repeat while they place something.
  bool reserved = false;
  while (!m_queues[kHeavy].empty()) {
    PlacementResult r = place_round(kHeavy, workers, idle, now);
    fail_impossible(r.impossible);
    for (auto& a : r.assignments) assign(a.key, std::move(a.ranks), now, batches);
    reserved = reserved || r.reserved_for;
    if (reserved || (r.assignments.empty() && r.impossible.empty())) break;
  }
  // The ranks a waiting heavy task would take once their light tasks end are
  // held for it: light tasks backfill the others only.
  std::set<int> held;
  if (!m_queues[kHeavy].empty() && !reserved) {
    auto not_exclusive = [&](int r) { return !m_ranks[static_cast<std::size_t>(r)].exclusive; };
    for (const auto& a : place_round(kHeavy, workers, not_exclusive, now).assignments)
      held.insert(a.ranks.begin(), a.ranks.end());
  }
  // Light tasks fill each usable rank's window, one task per rank a round.
  auto has_room = [&](int r) {
    const Rank& k = m_ranks[static_cast<std::size_t>(r)];
    return !k.exclusive && k.inflight < kWindow && !held.count(r);
  };
  for (int round = 0; !reserved && round < kWindow && !m_queues[kLight].empty(); ++round) {
    PlacementResult r = place_round(kLight, workers, has_room, now);
    fail_impossible(r.impossible);
    for (auto& a : r.assignments) assign(a.key, std::move(a.ranks), now, batches);
    if (r.reserved_for || (r.assignments.empty() && r.impossible.empty())) break;
  }
  for (auto& [rank, batch] : batches) m_channel.send(rank, batch.take());
}

void Scheduler::stop_placing() {
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_placing = false;
}

void Scheduler::stop_workers() {
  for (int r = 1; r < m_channel.size(); ++r) m_channel.send(r, Json{{"t", "stop"}}.dump());
}

bool Scheduler::workers_stopped() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  return m_byes >= m_channel.size() - 1;
}

Json Scheduler::status() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  const std::int64_t now = now_ms();
  const double elapsed = static_cast<double>(std::max<std::int64_t>(1, now - m_started_ms));
  Json ranks = Json::array();
  int lost = 0;
  for (std::size_t r = 1; r < m_ranks.size(); ++r) {
    const Rank& k = m_ranks[r];
    const bool busy = k.inflight > 0;
    const std::int64_t busy_ms = k.busy_ms + (busy ? now - k.busy_since_ms : 0);
    lost += k.lost;
    ranks.push_back({{"rank", r},
                     {"host", k.host},
                     {"busy", busy},
                     {"inflight", k.inflight},
                     {"lost", k.lost},
                     {"busy_ms", busy_ms},
                     {"idle_ms", static_cast<std::int64_t>(elapsed) - busy_ms},
                     {"utilisation", static_cast<double>(busy_ms) / elapsed},
                     {"tasks_done", k.tasks_done}});
  }
  return {{"ranks", ranks},
          {"lost_ranks", lost},
          {"tasks", {{"queued", m_queued_count}, {"running", m_running_count}, {"done", m_done}}}};
}

}  // namespace beamflow::pilot
