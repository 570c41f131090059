#include "pilot/worker.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "core/error.hpp"
#include "core/time.hpp"
#include "platform/events.hpp"
#include "platform/private_dir.hpp"
#include "platform/storage_failure.hpp"
#include "pilot/crashes.hpp"
#include "pilot/wire.hpp"
#include "run/executor.hpp"

namespace beamflow::pilot {
namespace {

using actions::ActionState;

// After a cancel, how long a task may take to report its end before the
// worker reports it cancelled itself (the supervisor's kill grace is 5 s).
constexpr std::int64_t kCancelGiveUpMs = 15'000;
// A worker says it is alive this often (Scheduler::kLostAfterMs is the bound).
constexpr std::int64_t kBeatEveryMs = 1000;

struct Task {
  actions::Action* action = nullptr;
  actions::ActionRequest request;
  actions::Placement placement;
  run::Executor* executor = nullptr;
  std::int64_t next_poll_ms = 0;
  std::int64_t cancelled_ms = 0;  // 0: not cancelled
};

class Worker {
 public:
  Worker(Channel& channel, const actions::ActionRegistry& registry, const std::string& host,
         const std::filesystem::path& pilot_dir)
      : m_channel(channel), m_registry(registry) {
    if (!pilot_dir.empty()) m_mark = std::make_unique<ExecutingMark>(pilot_dir, channel.rank(), host);
  }

  void run(const std::string& host) {
    send({{"t", "hello"}, {"host", host}});
    fs::Poller poller;
    poller.add(m_channel.fd(), 0);
    std::int64_t next_beat = 0;
    while (!m_stopped) {
      if (now_ms() >= next_beat) {
        send({{"t", "beat"}});  // how the coordinator knows this rank is alive
        next_beat = now_ms() + kBeatEveryMs;
      }
      std::int64_t wake = std::min(now_ms() + 1000, next_beat);
      for (const auto& [key, t] : m_tasks) wake = std::min(wake, t.next_poll_ms);
      poller.wait(std::max<std::int64_t>(0, wake - now_ms()));
      for (auto& env : m_channel.receive()) handle(env.bytes);
      poll_due();
      flush();
    }
    send({{"t", "bye"}});
  }

 private:
  void send(const Json& j) { m_channel.send(0, j.dump()); }

  void handle(const std::string& bytes) {
    // A message this worker cannot read (another beamflow version on the
    // coordinator?) is dropped; its tasks are sent again after a restart.
    if (wire::kind_of(bytes) == wire::Kind::Tasks) {
      std::vector<wire::Task> tasks;
      try {
        tasks = wire::decode_tasks(bytes);
      } catch (const std::exception&) {
        return;
      }
      // A batch: instant in-process actions (echo) run here, inline, one
      // after another; the others start and are polled.
      for (auto& t : tasks) start(std::move(t));
      return;
    }
    Json m;
    try {
      m = wire::parse(bytes);
    } catch (const std::exception&) {
      return;
    }
    const std::string type = m.at("t").get<std::string>();
    if (type == "cancel") {
      if (!m.contains("h") || !m["h"].is_number_unsigned()) return;
      auto it = m_tasks.find(m.at("h").get<wire::Handle>());
      if (it == m_tasks.end() || it->second.cancelled_ms) return;
      const auto marked = executing(it->second);
      it->second.executor->cancel(run::TaskHandle{}, *it->second.action, it->second.request, it->second.placement);
      it->second.cancelled_ms = now_ms();
      it->second.next_poll_ms = now_ms();
    } else if (type == "stop") {
      m_stopped = true;  // in-flight tasks are re-attached by the next pilot
    }
  }

  void start(wire::Task&& m) {
    const wire::Handle h = m.handle;
    Task t;
    t.request = std::move(m.request);
    t.placement = std::move(m.placement);
    const std::string& key = t.request.action_id;
    t.action = m_registry.resolve(m.action);
    if (!t.action) {
      finish(h, ActionState::failed(key, states_error::TaskFailed, "no action named '" + m.action + "' on this worker"));
      return;
    }
    t.executor = t.placement.own_process ? static_cast<run::Executor*>(&m_child_process) : &m_in_process;
    ActionState st;
    try {
      const auto& info = t.action->info();
      if (info.side_effects || !info.synchronous || t.placement.own_process)
        fs::create_private_directories(t.request.state_dir, "run.io");
      const auto marked = executing(t);
      // A worker's executors keep no tasks of their own: no handle is needed.
      st = t.executor->start(run::TaskHandle{}, *t.action, t.request, t.placement);
    } catch (const Error& e) {
      st = ActionState::failed(key, e.asl_name(), e.what());
    } catch (const std::exception& e) {
      st = ActionState::failed(key, states_error::TaskFailed, e.what());
    }
    if (st.done()) {
      finish(h, st);
      return;
    }
    t.next_poll_ms = now_ms() + std::max<std::int64_t>(1, st.poll_after.count());
    m_tasks[h] = std::move(t);
  }

  void poll_due() {
    const std::int64_t now = now_ms();
    for (auto it = m_tasks.begin(); it != m_tasks.end();) {
      Task& t = it->second;
      if (t.next_poll_ms > now) {
        ++it;
        continue;
      }
      ActionState st;
      try {
        const auto marked = executing(t);
        st = t.executor->poll(run::TaskHandle{}, *t.action, t.request, t.placement);
      } catch (const std::exception& e) {
        st = ActionState::failed(t.request.action_id, states_error::TaskFailed, e.what());
      }
      if (!st.done() && t.cancelled_ms && now - t.cancelled_ms > kCancelGiveUpMs)
        st = ActionState::failed(t.request.action_id, "Action.Cancelled", "cancelled; no outcome reported in time");
      if (st.done()) {
        finish(it->first, st);
        it = m_tasks.erase(it);
        continue;
      }
      // While cancelled, the outcome is awaited at a steady pace.
      t.next_poll_ms = now + std::clamp<std::int64_t>(st.poll_after.count(), 1, t.cancelled_ms ? 200 : 60'000);
      ++it;
    }
  }

  // While the guard lives, this rank's mark names the task whose code it
  // executes (crashes.hpp): memory writes only.
  ExecutingMark::Guard executing(const Task& t) {
    if (!m_mark) return ExecutingMark::Guard(nullptr);
    m_mark->enter(t.request.action_id, t.request.run_id, t.action->info().name);
    return ExecutingMark::Guard(m_mark.get());
  }

  // Outcomes go back in one message per turn of the loop.
  void finish(wire::Handle h, const ActionState& st) { m_done.add(h, st); }
  void flush() {
    if (!m_done.empty()) m_channel.send(0, m_done.take());
  }

  Channel& m_channel;
  const actions::ActionRegistry& m_registry;
  run::InProcessExecutor m_in_process;
  run::ChildProcessExecutor m_child_process;
  std::map<wire::Handle, Task> m_tasks;
  wire::DoneBatch m_done;
  bool m_stopped = false;
  std::unique_ptr<ExecutingMark> m_mark;  // none without a pilot directory (mpirun beamflow run)
};

}  // namespace

void run_worker(Channel& channel, const actions::ActionRegistry& registry, const std::string& host,
                const std::filesystem::path& pilot_dir) {
  Worker(channel, registry, host, pilot_dir).run(host);
}

}  // namespace beamflow::pilot
