#include "pilot/coordinator.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"
#include "pilot/crashes.hpp"
#include "pilot/driver_threads.hpp"
#include "pilot/intake.hpp"
#include "pilot/intake_batch.hpp"
#include "pilot/run_log.hpp"
#include "pilot/scheduler.hpp"
#include "platform/events.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"
#include "platform/sync_group.hpp"
#include "run/engine.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow::pilot {
namespace {

namespace stdfs = std::filesystem;

constexpr std::int64_t kStatusEveryMs = 1000;
// How long a drain waits for the workers' goodbyes.
constexpr std::int64_t kByeWaitMs = 10'000;

enum Token : std::uint64_t { kSignals, kChannel, kQueued, kDirs, kLoop };

struct Slot {
  std::string run_id;
  std::string submission_id;  // empty: a run resumed from runs/
  bool resume = false;
  std::atomic<run::Interrupt> interrupt{run::Interrupt::None};
  std::atomic<bool> finished{false};
  bool retry = false;  // not driven for a reason of the moment: try again later
};

// A run that could not be driven (no descriptor left, storage for a moment
// full) is tried again after 1 s, doubling to a minute: forgetting it would
// leave its submission in inbox/ and its `wait` hanging until a restart.
constexpr std::int64_t kFirstRetryMs = 1000;
constexpr std::int64_t kLastRetryMs = 60'000;

class Coordinator {
 public:
  Coordinator(Channel& channel, const actions::ActionRegistry& registry, const CoordinatorOptions& o)
      : m_registry(registry), m_o(o), m_scheduler(channel), m_channel(channel), m_logs(o.dir / "runs") {}

  CoordinatorResult run(fs::SignalEvents& signals) {
    prepare_pilot_dir(m_o.dir);
    if (m_o.group_commit && m_o.durability == journal::Durability::Fsync) {
      if (fs::SyncGroup::suits(m_o.dir)) m_group = std::make_unique<fs::SyncGroup>(m_o.dir);
      else log("group commit off: " + m_o.dir.string() + " is not on a local disk file system; each run syncs its own files");
    }
    // Every "is it alive" of the pilot (pilot.lock) and of the commands it
    // runs (their supervisors' locks) is a flock in D: refuse, at start, a D
    // where one lock is not one holder across the nodes.
    fs::require_cluster_wide_locks(m_o.dir);
    auto lock = fs::FileLock::try_acquire(m_o.dir / "pilot.lock");
    if (!lock)
      throw Error("pilot.dir.busy", states_error::Runtime, "another pilot is running on this directory",
                  {{"dir", m_o.dir.string()}});
    count_crashes();
    m_scheduler.observe(&*m_crashes, &m_logs);
    recover();
    fs::Poller poller;
    poller.add(signals.fd(), kSignals);
    poller.add(m_channel.fd(), kChannel);
    poller.add(m_scheduler.fd(), kQueued);
    poller.add(m_loop.fd(), kLoop);
    // inotify only wakes the loop early: inbox/ and cancel/ are looked at
    // every second anyway. A user at fs.inotify.max_user_instances (shared
    // by every process of theirs: other pilots, waits, editors) still gets
    // a pilot, whose submissions start within a second, and it asks for an
    // instance again each second. CI: a pilot that stopped here at start
    // left its runs waiting until a test's 150 s ran out.
    std::optional<fs::DirWatch> dirs;
    bool unwatched_said = false;
    auto watch_dirs = [&] {
      if (dirs) return;
      std::string why;
      dirs = fs::DirWatch::try_open(&why);
      if (!dirs) {
        if (!unwatched_said) log(why + ": looking at inbox/ and cancel/ once a second");
        unwatched_said = true;
        return;
      }
      // Submissions arrive by link(2) (IN_CREATE), cancel requests by rename.
      for (const char* sub : {"inbox", "cancel"}) dirs->watch(m_o.dir / sub, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
      poller.add(dirs->fd(), kDirs);
      if (unwatched_said) log("inotify instance had: inbox/ and cancel/ watched from now on");
    };
    watch_dirs();
    CoordinatorResult result;
    std::int64_t next_status = 0, drain_started = 0;
    bool workers_told = false;
    intake();
    while (true) {
      const std::int64_t now = now_ms();
      if (now >= next_status) {
        watch_dirs();
        intake();  // also catches what an overflowed inotify queue (or no instance) missed
        apply_cancels();
        publish();
        next_status = now + kStatusEveryMs;
      }
      reap();
      launch();
      m_scheduler.pump();
      if (m_draining) {
        if (m_slots.empty() && !workers_told) {
          m_scheduler.stop_workers();
          workers_told = true;
          drain_started = now_ms();
        }
        if (workers_told && (m_scheduler.workers_stopped() || now_ms() - drain_started > kByeWaitMs)) break;
      }
      // The logs' next due lines too: a running run's lines are in its log
      // within RunLogs::kHoldMs, not at the pilot's next event.
      const std::int64_t wake =
          std::min(m_draining ? next_status : std::min(next_status, next_retry_ms()), m_logs.next_due_ms());
      for (const std::uint64_t token : poller.wait(std::max<std::int64_t>(0, wake - now_ms()))) {
        if (token == kSignals) {
          for (int s : signals.drain()) {
            if (!m_draining) log("signal " + std::to_string(s) + ": draining (runs stay resumable)");
            result.signal = s;
            drain();
          }
        } else if (token == kDirs) {
          dirs->read(1 << 16);
          intake();
          apply_cancels();
        } else if (token == kLoop) {
          m_loop.drain();
        }
      }
    }
    publish();
    try {
      m_inbox.archive_now();
    } catch (const Error& e) {
      log(std::string("not archived: ") + e.what() + " (archived at the next start)");
    }
    if (m_group) {
      const auto st = m_group->stats();
      log("group commit: " + std::to_string(st.requests) + " syncs asked by the runs, " + std::to_string(st.flushes) +
          " file-system flushes, " + std::to_string(st.declined) + " left to the runs (too much dirty data)");
    }
    m_logs.flush_all();
    return result;
  }

 private:
  // Before anything is placed: the task each rank was executing when the
  // last incarnation went down counts one crash (crashes.hpp).
  void count_crashes() {
    m_crashes.emplace(m_o.dir, m_o.max_task_crashes);
    for (const Executing& x : take_marks(m_o.dir)) {
      const int n = m_crashes->count(x);
      const std::string line = "crash " + std::to_string(n) + " (limit " + std::to_string(m_o.max_task_crashes) +
                               ") of task " + x.key + " (" + x.action + "): rank " + std::to_string(x.rank) + " on " +
                               x.host + " was executing it when the pilot went down";
      log("run " + x.run_id + ": " + line);
      m_logs.add(x.run_id, line);
    }
    // Now, not within RunLogs::kHoldMs: a task that crashes this pilot
    // again at once would take the count's line with it.
    m_logs.flush_all();
  }
  stdfs::path runs_root() const { return m_o.dir / "runs"; }
  void log(const std::string& line) const {
    if (m_o.log) m_o.log(line);
  }

  // What the last incarnation left: its runs that have not ended are
  // resumed, and a submission in accepted/ whose run does not exist is
  // started (inbox/ never offers it again). A submission moves to accepted/
  // only once its run's journal holds the run's start (drive_run), but a
  // machine crash can keep the move and lose the run's creation when that
  // start was not synced (--durability none; a first commit written by a
  // pilot killed before its sync, then resumed). Such a run was never
  // acted on (nothing is, before its start is in its journal), so
  // starting it runs it once. accepted/ holds what ran here since the last
  // archive pass: only those whose run does not name them (runs keep their
  // submission id) are read. What has every run is archived (the reader's
  // thread, intake_archive.hpp): no start reads it again, so a run
  // directory a user deletes does not make its submission run again.
  void recover() {
    std::unordered_set<std::string> runs, submitted;  // run ids; submission ids of those runs
    for (auto& s : run::list_runs(runs_root())) {
      if (s.status != "SUCCEEDED" && s.status != "FAILED") enqueue(s.run_id, "", true);
      if (!s.submission_id.empty()) submitted.insert(std::move(s.submission_id));
      runs.insert(std::move(s.run_id));
    }
    const Pending accepted =
        m_inbox.recover([&submitted](const std::string& id) { return submitted.count(id) > 0; });
    for (const auto& why : accepted.bad)
      if (m_reported.insert(why).second) log("refused " + why);
    for (const auto& s : accepted.ready)
      if (!runs.count(s.run_id) && !run::RunDirectory::exists(runs_root(), s.run_id)) {
        log("run " + s.run_id + ": submission " + s.submission_id + " is in accepted/ without its run: starting it");
        enqueue(s.run_id, s.submission_id, false);
      }
  }

  void enqueue(const std::string& run_id, const std::string& submission_id, bool resume) {
    if (!m_known.insert(run_id).second) return;
    m_waiting.push_back({run_id, submission_id, resume});
  }

  // What arrived in inbox/ since the last look, each file read once
  // (InboxReader: submission files and batch files; a wake-up costs what
  // arrived, not what waits), oldest first; bad files reported once.
  void intake() {
    if (m_draining) return;
    const Pending p = m_inbox.fresh();
    for (const auto& why : p.bad)
      if (m_reported.insert(why).second) log("refused " + why);
    for (const auto& why : p.later)
      if (m_reported.insert(why).second) log("not read now: " + why + " (read again at the next look)");
    for (const auto& why : p.unmoved)
      if (m_reported.insert(why).second) log("not moved: " + why + " (its runs exist: moved later)");
    for (const auto& s : p.ready) accept(s);
  }

  void accept(const Submission& s) {
    enqueue(s.run_id, s.submission_id, run::RunDirectory::exists(runs_root(), s.run_id));
  }

  void apply_cancels() {
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(m_o.dir / "cancel", ec)) {
      const std::string run_id = e.path().filename().string();
      auto it = m_slots.find(run_id);
      if (it == m_slots.end() || it->second->interrupt == run::Interrupt::Cancel) continue;
      it->second->interrupt = run::Interrupt::Cancel;
      m_scheduler.wake(run_id);
      m_logs.add(run_id, "cancel requested");
      log("run " + run_id + ": cancel requested");
    }
  }

  void retry_later(const Slot& s) {
    std::int64_t& delay = m_backoff[s.run_id];
    delay = delay == 0 ? kFirstRetryMs : std::min(2 * delay, kLastRetryMs);
    log("run " + s.run_id + ": trying again in " + std::to_string(delay / 1000) + " s");
    m_retries.push_back({now_ms() + delay, {s.run_id, s.submission_id, false}});
  }

  // The retries that are due join the queue, resuming when the run's
  // directory was made before the failure.
  void release_due_retries() {
    const std::int64_t now = now_ms();
    for (auto it = m_retries.begin(); it != m_retries.end();) {
      if (it->first > now) {
        ++it;
        continue;
      }
      Waiting w = it->second;
      w.resume = run::RunDirectory::exists(runs_root(), w.run_id);
      m_waiting.push_back(std::move(w));
      it = m_retries.erase(it);
    }
  }

  std::int64_t next_retry_ms() const {
    std::int64_t next = INT64_MAX;
    for (const auto& r : m_retries) next = std::min(next, r.first);
    return next;
  }

  void launch() {
    release_due_retries();
    while (!m_draining && m_slots.size() < m_limit && !m_waiting.empty()) {
      auto w = m_waiting.front();
      m_waiting.pop_front();
      auto slot = std::make_unique<Slot>();
      slot->run_id = w.run_id;
      slot->submission_id = w.submission_id;
      slot->resume = w.resume;
      if (stdfs::exists(m_o.dir / "cancel" / w.run_id)) slot->interrupt = run::Interrupt::Cancel;
      Slot* s = slot.get();
      m_slots[w.run_id] = std::move(slot);
      m_drivers.run([this, s] { drive(*s); });
    }
  }

  // Everything of the run's is gone before `finished`: reap() then frees
  // the slot, while this thread goes back to m_drivers.
  void drive(Slot& s) {
    drive_run(s);
    s.finished = true;
    m_loop.notify();
  }

  void drive_run(Slot& s) {
    run::RunOptions o;
    o.runs_root = runs_root();
    o.run_id = s.run_id;
    o.durability = m_o.durability;
    o.sync_group = m_group.get();
    o.work_dir = m_o.dir;
    o.executor = [this, &s](fs::Wakeup& w) { return m_scheduler.executor(s.run_id, w); };
    o.interrupt = [&s] { return s.interrupt.load(); };
    o.status_at_start = false;  // no status.json: the journal's RunEnded is the summary (RunOptions)
    o.status_at_end = false;
    o.submission_id = s.submission_id;  // lets recover() skip its file in accepted/
    try {
      run::Engine engine(m_registry);
      run::RunResult r;
      const std::string by = " by the pilot (pid " + std::to_string(::getpid()) + ")";
      // The submission is accepted (moved out of inbox/) only once the run's
      // journal holds its start: a submission in accepted/ always has its
      // run, but for a machine crash that lost the run's creation and kept
      // the move (recover()).
      if (s.resume) {
        if (!s.submission_id.empty()) o.on_started = [this, &s] { m_inbox.accepted(s.submission_id); };
        m_logs.add(s.run_id, "resumed" + by);
        r = engine.resume(s.run_id, o);
      } else {
        const auto sub = m_inbox.find(s.submission_id);
        if (!sub) throw Error("pilot.submission.invalid", states_error::Runtime, "the submission disappeared",
                              {{"submission_id", s.submission_id}});
        o.on_started = [this, &s, by] {
          m_logs.add(s.run_id, "accepted" + by + " from submission " + s.submission_id);
          m_inbox.accepted(s.submission_id);
        };
        r = engine.start(sub->definition, sub->input, o);
      }
      if (r.status == run::RunStatus::Running) m_logs.add_last(s.run_id, "drain: left RUNNING, resumed by the next pilot");
      else m_logs.add_last(s.run_id, std::string("ended ") + run::to_string(r.status) +
                                    (r.status == run::RunStatus::Failed ? ": " + r.error.error + ": " + r.error.cause : ""));
      log("run " + s.run_id + " " + (r.status == run::RunStatus::Running ? "left RUNNING (drain)" : run::to_string(r.status)));
    } catch (const Error& e) {
      // Only a submission that vanished is final: anything else is the
      // moment's, and the run stays submitted.
      s.retry = !is_final(e);
      log("run " + s.run_id + " not driven: " + e.what());
      m_logs.add_last(s.run_id, std::string("not driven: ") + e.what());
    } catch (const std::exception& e) {
      s.retry = true;
      log("run " + s.run_id + " not driven: " + e.what());
    }
  }

  void reap() {
    std::size_t freed = 0;
    bool short_of = false;
    for (auto it = m_slots.begin(); it != m_slots.end();) {
      if (!it->second->finished) {
        ++it;
        continue;
      }
      if (it->second->retry && !m_draining) {
        retry_later(*it->second);
        short_of = true;
      } else {
        m_backoff.erase(it->first);
        ++freed;
      }
      it = m_slots.erase(it);
    }
    // What fits is what still runs (m_limit). One more is tried after as
    // many runs ended, or a second went by: a probe per end would fail
    // about as often as runs end.
    const std::int64_t now = now_ms();
    if (short_of) {
      m_limit = std::max<std::size_t>(1, m_slots.size());
      m_ended_since = 0;
      m_limit_since_ms = now;
    } else if (m_limit < m_o.max_runs) {
      m_ended_since += freed;
      if (m_ended_since >= m_limit || now - m_limit_since_ms >= kFirstRetryMs) {
        ++m_limit;
        m_ended_since = 0;
        m_limit_since_ms = now;
      }
    }
    // A run that ended gave back what a waiting retry most likely lacked
    // (descriptors, memory): the earliest one is tried now rather than at
    // the end of its backoff, which has grown to a minute by the sixth try.
    for (; !short_of && freed > 0; --freed) {
      auto earliest = m_retries.end();
      for (auto r = m_retries.begin(); r != m_retries.end(); ++r)
        if (r->first > now && (earliest == m_retries.end() || r->first < earliest->first)) earliest = r;
      if (earliest == m_retries.end()) break;
      earliest->first = now;
    }
  }

  void drain() {
    if (m_draining) return;
    m_draining = true;
    m_scheduler.stop_placing();
    for (auto& [id, s] : m_slots) {
      s->interrupt = run::Interrupt::Stop;
      m_scheduler.wake(id);
    }
  }

  void publish() {
    std::size_t inbox = 0;
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(m_o.dir / "inbox", ec))
      if (e.path().extension() == ".json") ++inbox;
    Json status = m_scheduler.status();
    status["pid"] = static_cast<std::int64_t>(::getpid());
    status["updated_ms"] = now_ms();
    status["draining"] = m_draining;
    status["runs"] = {{"active", m_slots.size()},
                      {"limit", m_limit},
                      {"waiting", m_waiting.size() + m_retries.size()},
                      {"inbox", inbox}};
    try {
      // A view rewritten every second, not a record: renamed into place
      // (a reader sees the old file or the new, never a torn one) without
      // an fsync. What it shows is already durable in the journals, and a
      // crash that loses it loses only a view the restarted pilot rewrites.
      const std::string text = status.dump() + "\n";
      fs::detail::replace_file(m_o.dir / "status.json", text.data(), text.size(), /*durable=*/false, "fs.write");
    } catch (const std::exception& e) {
      log(std::string("cannot publish status.json: ") + e.what());
    }
  }

  struct Waiting {
    std::string run_id, submission_id;
    bool resume = false;
  };

  const actions::ActionRegistry& m_registry;
  const CoordinatorOptions& m_o;
  Scheduler m_scheduler;
  Channel& m_channel;
  fs::Wakeup m_loop;
  // Group commit of the runs' creations and journal commits (null: each
  // run syncs its own files). Outlives the drivers (m_drivers, last).
  std::unique_ptr<fs::SyncGroup> m_group;
  RunLogs m_logs;
  std::optional<CrashCounts> m_crashes;
  std::map<std::string, std::unique_ptr<Slot>> m_slots;
  // Runs driven at once now: max_runs, lowered to the runs still going when
  // one could not be driven for a reason of the moment (what it lacked,
  // descriptors or memory, is held by those), raised again step by step
  // (reap). Without it every retry that fell due started at once and most
  // failed again, their backoff doubling towards a minute: with 60 runs
  // and room for ~12 (90 descriptors), CI saw a run still waiting after
  // 150 s.
  std::size_t m_limit = m_o.max_runs;
  std::size_t m_ended_since = 0;     // runs ended since m_limit last changed
  std::int64_t m_limit_since_ms = 0;  // when it last changed
  std::deque<Waiting> m_waiting;
  std::vector<std::pair<std::int64_t, Waiting>> m_retries;  // (due, run)
  std::map<std::string, std::int64_t> m_backoff;           // run id -> its last delay
  std::set<std::string> m_known;
  std::set<std::string> m_reported;
  InboxReader m_inbox{m_o.dir};  // what arrives in inbox/, each file read once
  bool m_draining = false;
  // Last: its threads, joined first, use everything above.
  DriverThreads m_drivers;
};

}  // namespace

CoordinatorResult run_coordinator(Channel& channel, const actions::ActionRegistry& registry,
                                  const CoordinatorOptions& options, fs::SignalEvents& signals) {
  return Coordinator(channel, registry, options).run(signals);
}

}  // namespace beamflow::pilot
