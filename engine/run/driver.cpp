#include "run/driver.hpp"

#include <sys/stat.h>

#include "platform/private_dir.hpp"
#include "platform/storage_failure.hpp"

#include <algorithm>
#include <atomic>

#include "core/time.hpp"
#include "run/paths.hpp"

namespace beamflow::run {
namespace {

using actions::ActionState;
using actions::ActionStatus;

// Tokens of the descriptors in Driver::m_poller; added sources follow.
constexpr std::uint64_t kDirsToken = 0;
constexpr std::uint64_t kWakeupToken = 1;
constexpr std::uint64_t kFirstSourceToken = 2;

Json event_json(const Event& e) {
  Json j = body_of(e);
  j["type"] = to_string(e.type);
  return j;
}

// A seed for a run's generator (Retry jitter): splitmix64 of a process-wide
// counter that one std::random_device seeded (a random_device per run was a
// measured share of a pilot's CPU per one-task flow; a pilot drives each run
// on a thread of its own, so a per-thread generator would not help).
std::uint64_t rng_seed() {
  static std::atomic<std::uint64_t> counter{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  std::uint64_t z = counter.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

RunResult result_of(const RunState& s) {
  RunResult r;
  r.run_id = s.info().run_id;
  r.status = s.succeeded() ? RunStatus::Succeeded : RunStatus::Failed;
  if (s.succeeded()) r.output = s.output();
  else r.error = s.error();
  return r;
}

Driver::Driver(const actions::ActionRegistry& registry, RunDirectory& dir, RunState& state, journal::Writer& writer,
               const RunOptions& options)
    : m_registry(registry),
      m_dir(dir),
      m_state(state),
      m_writer(writer),
      m_options(options),
      m_rng(rng_seed()),
      m_interp(state, m_outbox,
               InterpreterEnv{[] { return now_ms(); },
                              [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(m_rng); },
                              options.max_payload_bytes}) {
  m_action_prefix = action_dir(m_dir.path(), "").native();
  m_run_dir = m_dir.path();
  m_poller.add(m_wakeup.fd(), kWakeupToken);
  if (options.executor) m_routed = options.executor(m_wakeup);
}

void Driver::reattach() {
  for (const auto& id : m_state.tasks()) launch(id, /*reattach=*/true);
  if (m_routed) m_routed->flush();
  drain_results();
}

RunResult Driver::run() {
  while (true) {
    const Interrupt interrupt = m_options.interrupt ? m_options.interrupt() : Interrupt::None;
    if (interrupt == Interrupt::Stop) {
      // A drain: nothing is cancelled, the run stays RUNNING and resumable;
      // its actions are re-attached by the next driver.
      forget_all();
      RunResult r;
      r.run_id = m_state.info().run_id;
      return r;
    }
    if (interrupt == Interrupt::Cancel && !m_state.ended())
      m_interp.fail_run({"Run.Cancelled", "the run was cancelled (beamflow cancel)"});
    const auto ready = m_state.take_ready();
    make_room(m_outbox, ready.size());  // a step emits an event at least
    for (const auto& id : ready) m_interp.step(id);
    fire_due_timers();
    check_deadlines();
    commit_and_act();
    if (m_state.ended()) break;
    if (!m_state.has_ready() && m_outbox.empty()) wait_for_events();
  }
  for (auto& [id, a] : m_active) cancel(a);
  forget_all();
  return result_of(m_state);
}

std::vector<Event> Driver::commit_outbox() {
  std::vector<Event> batch;
  batch.swap(m_outbox);
  // The next batch goes into the storage of the last one acted on
  // (commit_and_act gives it back cleared): an outbox started empty at every
  // commit grew by reallocation, moving each event again, a measured share
  // of a pilot's task at a Map's rate.
  m_outbox.swap(m_spare);
  for (const auto& e : batch) {
    encode_into(e, m_encoded);
    m_writer.append(static_cast<std::uint16_t>(e.type), m_encoded);
  }
  m_writer.commit();  // durable before anything acts on it
  return batch;
}

void Driver::act_on(const std::vector<Event>& committed) {
  for (const auto& e : committed) {
    if (m_options.observer) m_options.observer(event_json(e));
    act(e);
  }
  // The batch's starts and releases reach the routed executor together: one
  // lock of the pilot's scheduler per batch, not one per task, which the
  // coordinator's loop, placing under that lock, made a futex wait and wake
  // (and a context switch) at a Map's rate.
  if (m_routed) m_routed->flush();
  drain_results();
}

void Driver::commit_and_act() {
  if (m_outbox.empty()) return;
  auto batch = commit_outbox();
  act_on(batch);
  // Its storage is the next outbox's, up to a bound: the batch of a large
  // Map's start (an event per item) is freed rather than held for the run.
  batch.clear();
  if (batch.capacity() <= kSpareEvents) m_spare.swap(batch);
}

void Driver::commit_start() {
  // A pilot's one-task flow made three commits (its start, its task's
  // scheduling, its end), each a wait for the group's flush: the first two
  // are one now. An interrupted run (cancelled or drained before it began)
  // starts as before and meets its interrupt in run().
  if ((m_options.interrupt ? m_options.interrupt() : Interrupt::None) == Interrupt::None)
    for (const auto& id : m_state.take_ready()) m_interp.step(id);
  m_start = commit_outbox();
}

void Driver::act_on_start() {
  auto start = std::move(m_start);
  m_start.clear();
  act_on(start);
}

void Driver::act(const Event& e) {
  switch (e.type) {
    case RecordType::TaskScheduled: launch(frame_of(e), false); break;
    case RecordType::TaskSucceeded:
    case RecordType::TaskFailed: {
      auto it = m_active.find(frame_of(e));
      if (it != m_active.end()) {
        it->second.executor->release(it->second.handle, *it->second.action, it->second.request,
                                     it->second.placement);
        forget(it);
      }
      break;
    }
    case RecordType::FrameCancelled: cancel_subtree(e.body.at("f").get<std::string>()); break;
    default: break;
  }
}

actions::ActionRequest Driver::request_for(const Frame& f) {
  actions::ActionRequest req;
  req.action_id = f.task.action_id;
  req.input = f.task.input;
  req.run_id = m_state.info().run_id;
  req.state_name = f.state;
  req.attempt = f.task.attempt;
  // The run's directories are the driver's one copy of each (a pointer per
  // request); the state directory is text, parsed only if an action reads it.
  if (m_work_dir.native() != m_state.info().work_dir) m_work_dir = m_state.info().work_dir;
  req.run_dir = m_run_dir;
  req.work_dir = m_work_dir;
  req.state_dir = m_action_prefix + f.task.action_id;
  return req;
}

void Driver::launch(const std::string& frame_id, bool reattach) {
  Frame* f = m_state.find(frame_id);
  if (!f || f->phase != Phase::Task) return;
  actions::Action* action = m_registry.resolve(f->task.resource);
  if (!action) {
    const bool globus = f->def().type == lang::StateType::Action;
    m_results.emplace_back(frame_id, ActionState::failed(f->task.action_id,
                                                         globus ? globus_error::ActionUnableToRun : states_error::TaskFailed,
                                                         "no action named by '" + f->task.resource + "'"));
    return;
  }
  // Launched again (a re-attach of a frame still active): the old entry and
  // its handle go first, so the executor hears of the task by its new one.
  auto at = m_active.lower_bound(frame_id);
  if (at != m_active.end() && at->first == frame_id) at = forget(at);
  const auto entry = m_active.emplace_hint(at, frame_id, Active{});
  Active& a = entry->second;
  a.handle = issue_handle(*entry);
  a.launched = m_launches++;
  a.action = action;
  a.request = request_for(*f);
  a.last_sign_of_life_ms = reattach ? now_ms() : f->task.started_ms;
  a.executor = &m_in_process;
  ActionState st;
  try {
    a.placement = action->placement(a.request);
    a.executor = &executor_for(a.placement);
    // Asynchronous actions re-attach by their durable state after a crash,
    // side-effecting ones keep what makes run() idempotent, a child process
    // finds its request there: all need it.
    if (action->info().side_effects || !action->info().synchronous || a.placement.own_process) {
      // actions/ itself is made here, at the run's first such action
      // (run_store.hpp), and its name synced in the run directory then.
      const auto actions = a.request.state_dir.parent_path();
      const bool made_actions = ::mkdir(actions.c_str(), 0700) == 0;
      fs::create_private_directories(a.request.state_dir, "run.io");
      fs::sync_directory(actions);
      if (made_actions) fs::sync_directory(m_dir.path());
    }
    st = a.executor->start(a.handle, *action, a.request, a.placement);
  } catch (const Error& e) {
    if (fs::is_storage_failure(e)) throw;  // beamflow's own state: the run stops INTERRUPTED
    st = ActionState::failed(a.request.action_id, e.asl_name(), e.what());
  } catch (const std::exception& e) {
    if (fs::is_storage_failure(e)) throw;
    st = ActionState::failed(a.request.action_id, states_error::TaskFailed, e.what());
  }
  st.action_id = a.request.action_id;
  if (st.heartbeat) a.last_sign_of_life_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.heartbeat->time_since_epoch()).count();
  set_next_poll(*entry, now_ms() + st.poll_after.count());
  if (f->task.deadline_ms || f->task.heartbeat_s) m_timed.insert(frame_id);
  if (st.done()) m_results.emplace_back(frame_id, std::move(st));
  else watch(frame_id, a);
}

void Driver::cancel(Active& a) { a.executor->cancel(a.handle, *a.action, a.request, a.placement); }

void Driver::cancel_subtree(const std::string& frame_id) {
  // The frame and its descendants ("F/..."): m_active is ordered, so they
  // are the frame itself and one contiguous range.
  if (auto it = m_active.find(frame_id); it != m_active.end()) {
    cancel(it->second);
    forget(it);
  }
  const std::string prefix = frame_id + "/";
  for (auto it = m_active.lower_bound(prefix);
       it != m_active.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    cancel(it->second);
    it = forget(it);
  }
}

void Driver::drain_results() {
  auto results = std::move(m_results);
  m_results.clear();
  make_room(m_outbox, results.size());  // a TaskSucceeded or TaskFailed each
  for (auto& [frame_id, st] : results) {
    // An action cannot end the whole run: the uncatchable names are the
    // interpreter's alone, so a task failing with one becomes a TaskFailed.
    if (st.status == ActionStatus::Failed &&
        (st.error == states_error::Runtime || st.error == states_error::DataLimitExceeded)) {
      st.cause = st.error + ": " + st.cause;
      st.error = states_error::TaskFailed;
    }
    m_interp.task_finished(frame_id, st);
  }
}

void Driver::fire_due_timers() {
  const std::int64_t now = now_ms();
  std::vector<std::string> due;
  for (const auto& [t, id] : m_state.timers()) {
    if (t > now) break;
    due.push_back(id);
  }
  for (const auto& id : due) m_interp.fire_timer(id);
}

void Driver::check_deadlines() {
  const std::int64_t now = now_ms();
  if (auto t = m_state.machine().timeout_seconds; t && !m_state.ended() &&
      now > m_state.info().started_ms + static_cast<std::int64_t>(*t * 1000.0)) {
    m_interp.fail_run({states_error::Timeout, "the flow exceeded its TimeoutSeconds of " +
                                                  std::to_string(static_cast<long long>(*t))});
    return;
  }
  std::vector<std::pair<std::string, FlowError>> expired;
  for (const auto& id : m_timed) {
    const auto it = m_active.find(id);
    if (it == m_active.end()) continue;
    const Active& a = it->second;
    Frame* f = m_state.find(id);
    if (!f || f->phase != Phase::Task) continue;
    const bool globus = f->def().type == lang::StateType::Action;
    if (f->task.deadline_ms && now > *f->task.deadline_ms) {
      expired.emplace_back(id, FlowError{globus ? globus_error::ActionTimeout : states_error::Timeout,
                                         "the action did not finish in time"});
    } else if (f->task.heartbeat_s &&
               now - a.last_sign_of_life_ms > static_cast<std::int64_t>(*f->task.heartbeat_s * 1000.0)) {
      expired.emplace_back(id, FlowError{states_error::HeartbeatTimeout, "no heartbeat from the action for " +
                                                                             std::to_string(*f->task.heartbeat_s) + " s"});
    }
  }
  for (auto& [id, err] : expired) {
    cancel(m_active[id]);
    m_interp.task_timed_out(id, err.error, err.cause);
  }
}

void Driver::add_source(EventSource& source) {
  m_poller.add(source.fd(), kFirstSourceToken + m_sources.size());
  m_sources.push_back(&source);
}

Executor& Driver::executor_for(const actions::Placement& p) {
  if (m_routed) return *m_routed;
  if (p.own_process) return m_child_process;
  return m_in_process;
}

void Driver::watch(const std::string& frame_id, Active& a) {
  const std::filesystem::path dir = a.executor->watch_dir(*a.action, a.request);
  if (dir.empty()) return;
  // Without a watch (no inotify instance to be had, the directory gone, the
  // watch limit reached) the action is still polled at its own pace, only
  // not woken early.
  if (!m_dirs) {
    m_dirs = fs::DirWatch::try_open();
    if (!m_dirs) return;
    m_poller.add(m_dirs->fd(), kDirsToken);
  }
  a.watch = m_dirs->watch(dir);
  if (a.watch >= 0) m_watched[a.watch] = frame_id;
}

void Driver::set_next_poll(ActiveEntry& entry, std::int64_t at) {
  m_due.erase({entry.second.next_poll_ms, &entry});
  entry.second.next_poll_ms = at;
  m_due.emplace(at, &entry);
}

void Driver::poll_now(const std::string& frame_id) {
  if (auto it = m_active.find(frame_id); it != m_active.end()) set_next_poll(*it, now_ms());
}

TaskHandle Driver::issue_handle(ActiveEntry& entry) {
  if (m_free_handles.empty()) {
    m_free_handles.push_back(static_cast<std::uint32_t>(m_handles.size()));
    m_handles.emplace_back();
  }
  const std::uint32_t slot = m_free_handles.back();
  m_free_handles.pop_back();
  m_handles[slot].entry = &entry;
  return {slot, m_handles[slot].gen};
}

Driver::ActiveEntry* Driver::entry_of(TaskHandle h) const noexcept {
  if (h.slot >= m_handles.size() || m_handles[h.slot].gen != h.gen) return nullptr;
  return m_handles[h.slot].entry;
}

void Driver::free_handle(ActiveEntry& entry) {
  const TaskHandle h = entry.second.handle;
  if (h.slot >= m_handles.size() || m_handles[h.slot].entry != &entry) return;
  HandleSlot& slot = m_handles[h.slot];
  slot.entry = nullptr;
  ++slot.gen;  // the handle is stale from here on
  m_free_handles.push_back(h.slot);
}

Driver::ActiveMap::iterator Driver::forget(ActiveMap::iterator it) {
  m_due.erase({it->second.next_poll_ms, &*it});
  free_handle(*it);
  if (!m_timed.empty()) m_timed.erase(it->first);
  if (it->second.watch >= 0) {
    m_dirs->unwatch(it->second.watch);
    m_watched.erase(it->second.watch);
  }
  return m_active.erase(it);
}

void Driver::forget_all() {
  for (auto& entry : m_active) free_handle(entry);
  m_active.clear();
  m_due.clear();
  m_timed.clear();
}

void Driver::wait_for_events() {
  std::int64_t now = now_ms();
  std::int64_t wake = now + 1000;
  if (!m_state.timers().empty()) wake = std::min(wake, m_state.timers().begin()->first);
  if (!m_due.empty()) wake = std::min(wake, m_due.begin()->first);
  for (const auto& id : m_timed) {
    const Frame* f = m_state.find(id);
    if (f && f->task.deadline_ms) wake = std::min(wake, *f->task.deadline_ms + 1);
  }
  const auto ready = m_poller.wait(std::max<std::int64_t>(0, wake - now));
  now = now_ms();
  for (const std::uint64_t token : ready) {
    if (token == kDirsToken) {
      // A file moved into a state directory (an outcome, a marker): poll
      // that action now rather than at its next turn.
      for (const int wd : m_dirs->drain()) {
        const auto w = m_watched.find(wd);
        if (w != m_watched.end()) poll_now(w->second);
      }
    } else if (token == kWakeupToken) {
      m_wakeup.drain();  // before take_progressed(): a later progress wakes again
      if (m_routed && m_routed->names_progress()) {
        // Polled here rather than through the due set: a Map's completions
        // arrive by the thousand, and re-keying each twice in m_due (its
        // key a copy of the frame id) was a measured share of a task. A
        // stale handle (its task forgotten or launched again since) names
        // no entry.
        for (const TaskHandle h : m_routed->take_progressed())
          if (ActiveEntry* entry = entry_of(h)) poll(*entry, now);
      } else {
        for (auto& entry : m_active) set_next_poll(entry, now);
      }
    } else if (token - kFirstSourceToken < m_sources.size()) {
      m_sources[token - kFirstSourceToken]->on_ready();
    }
  }
  poll_due();
}

void Driver::poll_due() {
  const std::int64_t now = now_ms();
  // Collected first: poll() moves an entry's turn in m_due. Nothing leaves
  // m_active until drain_results() has run.
  std::vector<ActiveEntry*> due;
  for (auto it = m_due.begin(); it != m_due.end() && it->first <= now; ++it) due.push_back(it->second);
  for (ActiveEntry* entry : due) poll(*entry, now);
  drain_results();
}

void Driver::poll(ActiveEntry& entry, std::int64_t now) {
  const std::string& frame_id = entry.first;
  Active& a = entry.second;
  ActionState st;
  try {
    st = a.executor->poll(a.handle, *a.action, a.request, a.placement);
  } catch (const std::exception& e) {
    if (fs::is_storage_failure(e)) throw;  // beamflow's own state: the run stops INTERRUPTED
    st = ActionState::failed(a.request.action_id, states_error::TaskFailed, e.what());
  }
  st.action_id = a.request.action_id;
  if (st.heartbeat)
    a.last_sign_of_life_ms = std::max(a.last_sign_of_life_ms,
        static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(st.heartbeat->time_since_epoch()).count()));
  // A finished action leaves the due set when its outcome is acted on
  // (forget()), so its turn there is moved only when it is due now.
  if (!st.done() || a.next_poll_ms <= now) set_next_poll(entry, now + std::max<std::int64_t>(1, st.poll_after.count()));
  if (st.done()) m_results.emplace_back(frame_id, std::move(st));
}

}  // namespace beamflow::run
