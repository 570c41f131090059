#include "run/engine.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/hash.hpp"
#include "core/time.hpp"
#include "lang/definition.hpp"
#include "run/interpreter.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow::run {
namespace {

using actions::ActionState;
using actions::ActionStatus;

// An action the engine is waiting on.
struct Active {
  actions::Action* action = nullptr;
  actions::ActionRequest request;
  std::int64_t next_poll_ms = 0;
  std::int64_t last_sign_of_life_ms = 0;
};

Json event_json(const Event& e) {
  Json j = e.body;
  j["type"] = to_string(e.type);
  return j;
}

RunResult result_of(const RunState& s) {
  RunResult r;
  r.run_id = s.info().run_id;
  r.status = s.succeeded() ? RunStatus::Succeeded : RunStatus::Failed;
  if (s.succeeded()) r.output = s.output();
  else r.error = s.error();
  return r;
}

// Drives one run: the loop of decide → make durable → act → wait.
class Driver {
 public:
  Driver(const actions::ActionRegistry& registry, RunDirectory& dir, RunState& state, journal::Writer& writer,
         const RunOptions& options)
      : m_registry(registry),
        m_dir(dir),
        m_state(state),
        m_writer(writer),
        m_options(options),
        m_rng(std::random_device{}()),
        m_interp(state, m_outbox,
                 InterpreterEnv{[] { return now_ms(); },
                                [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(m_rng); },
                                options.max_payload_bytes}) {}

  Interpreter& interpreter() { return m_interp; }

  // After a replay: re-attach every action that was in flight.
  void reattach() {
    for (const auto& id : m_state.tasks()) launch(id, /*reattach=*/true);
    drain_results();
  }

  RunResult run() {
    while (true) {
      for (const auto& id : m_state.take_ready()) m_interp.step(id);
      fire_due_timers();
      check_deadlines();
      commit_and_act();
      if (m_state.ended()) break;
      if (!m_state.has_ready() && m_outbox.empty()) wait_for_events();
    }
    for (auto& [id, a] : m_active) cancel(a);
    m_active.clear();
    return result_of(m_state);
  }

  void commit_and_act() {
    if (m_outbox.empty()) return;
    std::vector<Event> batch;
    batch.swap(m_outbox);
    for (const auto& e : batch) m_writer.append(static_cast<std::uint16_t>(e.type), encode(e));
    m_writer.commit();  // durable before anything below acts on it
    for (const auto& e : batch) {
      if (m_options.observer) m_options.observer(event_json(e));
      act(e);
    }
    drain_results();
  }

 private:
  void act(const Event& e) {
    switch (e.type) {
      case RecordType::TaskScheduled: launch(e.body.at("f").get<std::string>(), false); break;
      case RecordType::TaskSucceeded:
      case RecordType::TaskFailed: {
        auto it = m_active.find(e.body.at("f").get<std::string>());
        if (it != m_active.end()) {
          try {
            it->second.action->release(it->second.request);
          } catch (const std::exception&) {
            // release frees resources; a failure there must not fail the run
          }
          m_active.erase(it);
        }
        break;
      }
      case RecordType::FrameCancelled: cancel_subtree(e.body.at("f").get<std::string>()); break;
      default: break;
    }
  }

  actions::ActionRequest request_for(const Frame& f) const {
    actions::ActionRequest req;
    req.action_id = f.task.action_id;
    req.input = f.task.input;
    req.run_id = m_state.info().run_id;
    req.state_name = f.state;
    req.attempt = f.task.attempt;
    req.run_dir = m_dir.path();
    req.work_dir = m_state.info().work_dir;
    req.state_dir = action_dir(m_dir.path(), f.task.action_id);
    return req;
  }

  void launch(const std::string& frame_id, bool reattach) {
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
    Active a;
    a.action = action;
    a.request = request_for(*f);
    a.last_sign_of_life_ms = reattach ? now_ms() : f->task.started_ms;
    ActionState st;
    try {
      // Asynchronous actions re-attach by their durable state after a crash,
      // side-effecting ones keep what makes run() idempotent: both need it.
      if (action->info().side_effects || !action->info().synchronous) {
        std::filesystem::create_directories(a.request.state_dir);
        fs::sync_directory(a.request.state_dir.parent_path());
      }
      st = action->run(a.request);
    } catch (const Error& e) {
      st = ActionState::failed(a.request.action_id, e.asl_name(), e.what());
    } catch (const std::exception& e) {
      st = ActionState::failed(a.request.action_id, states_error::TaskFailed, e.what());
    }
    st.action_id = a.request.action_id;
    a.next_poll_ms = now_ms() + st.poll_after.count();
    if (st.heartbeat) a.last_sign_of_life_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.heartbeat->time_since_epoch()).count();
    m_active[frame_id] = std::move(a);
    if (st.done()) m_results.emplace_back(frame_id, std::move(st));
  }

  void cancel(Active& a) {
    try {
      a.action->cancel(a.request);
    } catch (const std::exception&) {
      // best effort: the action may already be gone
    }
  }

  void cancel_subtree(const std::string& frame_id) {
    const std::string prefix = frame_id + "/";
    for (auto it = m_active.begin(); it != m_active.end();) {
      if (it->first == frame_id || it->first.compare(0, prefix.size(), prefix) == 0) {
        cancel(it->second);
        it = m_active.erase(it);
      } else {
        ++it;
      }
    }
  }

  void drain_results() {
    auto results = std::move(m_results);
    m_results.clear();
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

  void fire_due_timers() {
    const std::int64_t now = now_ms();
    std::vector<std::string> due;
    for (const auto& [t, id] : m_state.timers()) {
      if (t > now) break;
      due.push_back(id);
    }
    for (const auto& id : due) m_interp.fire_timer(id);
  }

  void check_deadlines() {
    const std::int64_t now = now_ms();
    if (auto t = m_state.machine().timeout_seconds; t && !m_state.ended() &&
        now > m_state.info().started_ms + static_cast<std::int64_t>(*t * 1000.0)) {
      m_interp.fail_run({states_error::Timeout, "the flow exceeded its TimeoutSeconds of " +
                                                    std::to_string(static_cast<long long>(*t))});
      return;
    }
    std::vector<std::pair<std::string, FlowError>> expired;
    for (auto& [id, a] : m_active) {
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

  void wait_for_events() {
    std::int64_t now = now_ms();
    std::int64_t wake = now + 1000;
    if (!m_state.timers().empty()) wake = std::min(wake, m_state.timers().begin()->first);
    for (const auto& [id, a] : m_active) wake = std::min(wake, a.next_poll_ms);
    for (const auto& id : m_state.tasks()) {
      const Frame* f = m_state.find(id);
      if (f && f->task.deadline_ms) wake = std::min(wake, *f->task.deadline_ms + 1);
    }
    if (wake > now) std::this_thread::sleep_for(std::chrono::milliseconds(wake - now));
    now = now_ms();
    for (auto& [id, a] : m_active) {
      if (a.next_poll_ms > now) continue;
      ActionState st;
      try {
        st = a.action->status(a.request);
      } catch (const std::exception& e) {
        st = ActionState::failed(a.request.action_id, states_error::TaskFailed, e.what());
      }
      st.action_id = a.request.action_id;
      if (st.heartbeat)
        a.last_sign_of_life_ms = std::max(a.last_sign_of_life_ms,
            static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(st.heartbeat->time_since_epoch()).count()));
      a.next_poll_ms = now + std::max<std::int64_t>(1, st.poll_after.count());
      if (st.done()) m_results.emplace_back(id, std::move(st));
    }
    drain_results();
  }

  const actions::ActionRegistry& m_registry;
  RunDirectory& m_dir;
  RunState& m_state;
  journal::Writer& m_writer;
  const RunOptions& m_options;
  std::mt19937_64 m_rng;
  std::vector<Event> m_outbox;
  Interpreter m_interp;
  std::map<std::string, Active> m_active;
  std::vector<std::pair<std::string, ActionState>> m_results;
};

lang::ResourceCheck resource_check(const actions::ActionRegistry& registry) {
  return [&registry](const std::string& r) { return registry.resolve(r) != nullptr; };
}

Json status_json(const RunState& s, const std::string& status) {
  Json j = {{"run_id", s.info().run_id}, {"status", status}, {"flow", s.info().flow},
            {"started", format_time_ms(s.info().started_ms)}};
  if (s.ended()) {
    j["ended"] = format_time_ms(s.ended_ms());
    if (!s.succeeded()) j["error"] = {{"error", s.error().error}, {"cause", s.error().cause}};
  }
  return j;
}

// Records the start of a run (RunStarted and the first state) and makes it
// durable: the same for a fresh run and for one killed before its first commit.
void begin_run(Driver& driver, const RunOptions& options, const std::string& run_id, const Json& definition,
               const Json& input) {
  RunInfo info;
  info.run_id = run_id;
  info.name = options.name.value_or(run_id);
  info.flow = options.flow_file;
  info.work_dir = (options.work_dir.empty() ? std::filesystem::current_path() : options.work_dir).string();
  info.input = input;
  driver.interpreter().start(info, sha256_hex(definition.dump()));
  driver.commit_and_act();
}

RunResult finish(RunDirectory& dir, const RunState& state, const RunResult& r) {
  dir.write_status(status_json(state, to_string(r.status)));
  return r;
}

}  // namespace

const char* to_string(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::Running: return "RUNNING";
    case RunStatus::Succeeded: return "SUCCEEDED";
    case RunStatus::Failed: return "FAILED";
  }
  return "?";
}

Json RunResult::to_json() const {
  Json j = {{"run_id", run_id}, {"status", to_string(status)}};
  if (status == RunStatus::Succeeded) j["output"] = output;
  else if (status == RunStatus::Failed) {
    j["error"] = error.error;
    j["cause"] = error.cause;
  }
  return j;
}

RunResult Engine::start(const Json& definition, const Json& input, const RunOptions& options) {
  auto machine = lang::compile_or_throw(definition, resource_check(m_actions));
  if (options.max_payload_bytes && input.dump().size() > options.max_payload_bytes)
    throw Error("run.input_too_large", states_error::DataLimitExceeded,
                "run input exceeds the payload limit of " + std::to_string(options.max_payload_bytes) + " bytes");
  const std::string run_id = options.run_id.value_or(new_run_id());
  RunDirectory dir = RunDirectory::create(options.runs_root, run_id, definition, input);
  journal::Writer writer = journal::Writer::create(dir.journal_file(), options.durability);

  RunState state(machine);
  Driver driver(m_actions, dir, state, writer, options);
  begin_run(driver, options, run_id, definition, input);
  dir.write_status(status_json(state, "RUNNING"));
  return finish(dir, state, driver.run());
}

RunResult Engine::resume(const std::string& run_id, const RunOptions& options) {
  RunDirectory dir = RunDirectory::open(options.runs_root, run_id);
  const Json definition = dir.definition();
  auto machine = lang::compile_or_throw(definition, resource_check(m_actions));
  History history = read_history(dir.journal_file());
  RunState state(machine);
  for (const auto& e : history.events) state.apply(e);
  if (options.observer && (history.torn_tail || history.skipped_records))
    options.observer({{"type", "JournalRepaired"},
                      {"torn_tail", history.torn_tail},
                      {"skipped_records", history.skipped_records}});
  journal::Writer writer = std::filesystem::exists(dir.journal_file())
                               ? journal::Writer::open_append(dir.journal_file(), options.durability)
                               : journal::Writer::create(dir.journal_file(), options.durability);
  Driver driver(m_actions, dir, state, writer, options);
  if (history.events.empty()) {
    // Killed before the first commit: nothing happened yet, start afresh.
    begin_run(driver, options, run_id, definition, dir.input());
  } else if (state.ended()) {
    return finish(dir, state, result_of(state));
  } else {
    state.requeue_all();
    driver.reattach();
  }
  dir.write_status(status_json(state, "RUNNING"));
  return finish(dir, state, driver.run());
}

}  // namespace beamflow::run
