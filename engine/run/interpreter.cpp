#include "run/interpreter.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/hash.hpp"
#include "core/time.hpp"

namespace beamflow::run {
namespace {

using lang::StateType;

bool is_terminal_error(const std::string& name) {
  // Spec/AWS: States.Runtime and States.DataLimitExceeded end the execution;
  // neither Retry nor Catch (not even States.ALL) can handle them.
  return name == states_error::Runtime || name == states_error::DataLimitExceeded;
}

std::string child_id(const Frame& parent, std::size_t index) {
  return parent.id + "/" + parent.state + "#" + std::to_string(parent.visit) + "." +
         std::to_string(parent.attempt) + "[" + std::to_string(index) + "]";
}

// `j` = `s`, into the string `j` holds already (its storage reused).
void assign_string(Json& j, const std::string& s) {
  if (j.is_string()) j.get_ref<std::string&>() = s;
  else j = s;
}

FlowError to_flow_error(const Error& e) { return FlowError{e.asl_name(), e.message()}; }

EntryRecord entry(std::string frame, std::string state, Json in, std::int64_t t) {
  EntryRecord r;
  r.f = std::move(frame);
  r.s = std::move(state);
  r.in = std::move(in);
  r.t = t;
  return r;
}

EntryRecord child_entry(std::string frame, std::string state, Json in, std::int64_t t, const std::string& parent,
                        std::size_t index) {
  EntryRecord r = entry(std::move(frame), std::move(state), std::move(in), t);
  r.p = parent;
  r.i = index;
  return r;
}

// Items of a Map without MaxConcurrency in flight at once: what 32 worker
// ranks hold of light tasks (128 each) or 4,096 ranks of heavy ones, few
// enough that the items' frames, actions and pilot entries stay a working
// set the caches hold (CPU per no-op task grew from 30-38 us at 5,000
// items in flight to 50-70 at 100,000: bench/RESULTS.md).
constexpr std::size_t kUnboundedMapWindow = 4096;

}  // namespace

Interpreter::Interpreter(RunState& state, std::vector<Event>& outbox, InterpreterEnv env)
    : m_state(state), m_outbox(outbox), m_env(std::move(env)) {}

void Interpreter::emit(RecordType type, Json body) { emit(Event{type, std::move(body), std::nullopt}); }

void Interpreter::emit(Event e) {
  m_state.apply(e);
  m_outbox.push_back(std::move(e));
}

std::string Interpreter::action_id(const std::string& run_id, const Frame& f) {
  // The key is built in a buffer each thread keeps (a driver's thread steps
  // one run at a time): the chain of operator+ it was made by allocated a
  // string and grew it again, at every task of a Map.
  thread_local std::string key;
  key.clear();
  key.append(run_id).append(1, '\x1f').append(f.id).append(1, '\x1f').append(f.state).append(1, '\x1f');
  char digits[16];
  key.append(digits, std::to_chars(digits, digits + sizeof digits, f.visit).ptr).append(1, '\x1f');
  key.append(digits, std::to_chars(digits, digits + sizeof digits, f.attempt).ptr);
  std::string id = sha256_hex(key);
  id.resize(32);  // its first 32 hex digits, in place (substr made a second string)
  return id;
}

Json& Interpreter::context(const Frame& f) {
  const RunInfo& info = m_state.info();
  if (m_context.is_null()) {
    m_context = {{"Execution",
                  {{"Id", info.run_id},
                   {"Name", info.name},
                   {"Input", info.input},
                   {"StartTime", format_time_ms(info.started_ms)},
                   {"RoleArn", ""}}},
                 {"StateMachine", {{"Id", info.flow}, {"Name", info.flow}}}};
  }
  // Updated in place: rebuilding the object (and formatting the time) on
  // every step was a sixth of a Pass transition's cost.
  // The strings are assigned into the ones there (their storage reused) and
  // $$.Task is moved out and back rather than rebuilt: at a Map's rate these
  // allocations were a measured share of a task.
  Json& st = m_context["State"];
  if (!st.is_object()) st = Json::object();
  assign_string(st["Name"], f.state);
  if (m_context_entered_ms != f.entered_ms || !st.contains("EnteredTime")) {
    st["EnteredTime"] = format_time_ms(f.entered_ms);
    m_context_entered_ms = f.entered_ms;
  }
  st["RetryCount"] = f.attempt;
  m_context.erase("Map");
  auto& ctx = m_context.get_ref<Json::object_t&>();
  auto task = ctx.find("Task");
  if (f.phase == Phase::Task || f.phase == Phase::TaskDone) {
    if (task == ctx.end())
      task = m_context_task.empty() ? ctx.emplace("Task", Json::object()).first : ctx.insert(std::move(m_context_task)).position;
    if (!task->second.is_object() || task->second.size() != 1) task->second = Json::object();
    assign_string(task->second["Token"], f.task.action_id);
  } else if (task != ctx.end()) {
    m_context_task = ctx.extract(task);
  }
  return m_context;
}

void Interpreter::start(const RunInfo& info, const Json& definition, const std::string& definition_sha256) {
  const std::int64_t t = m_env.now_ms();
  Json started = {{"run_id", info.run_id},
                  {"name", info.name},
                  {"flow", info.flow},
                  {"work_dir", info.work_dir},
                  {"t", t},
                  {"input", info.input},
                  {"definition_sha256", definition_sha256},
                  {"layout", kRunDirLayout},
                  {"definition", definition}};
  if (!info.submission_id.empty()) started["submission"] = info.submission_id;
  emit(RecordType::RunStarted, std::move(started));
  emit(Event{entry("", m_state.machine().start_at, info.input, t)});
}

namespace {

// Serialized size of `value`, counted without building the text, stopping
// as soon as it passes `limit`. Strings count their bytes (escapes aside),
// numbers a generous 24: close enough for a limit check, and it never
// under-counts structure.
std::size_t json_size_up_to(const Json& value, std::size_t limit) {
  std::size_t total = 0;
  std::vector<const Json*> todo{&value};
  while (!todo.empty() && total <= limit) {
    const Json* j = todo.back();
    todo.pop_back();
    switch (j->type()) {
      case Json::value_t::object:
        total += 2;
        for (auto it = j->begin(); it != j->end(); ++it) {
          total += it.key().size() + 4;
          todo.push_back(&it.value());
        }
        break;
      case Json::value_t::array:
        total += 2;
        for (const auto& v : *j) {
          total += 1;
          todo.push_back(&v);
        }
        break;
      case Json::value_t::string: total += j->get_ref<const std::string&>().size() + 2; break;
      case Json::value_t::binary: total += j->get_binary().size() * 2; break;
      default: total += 24; break;
    }
  }
  return total;
}

}  // namespace

void Interpreter::check_size(const Json& value, const Frame& f) const {
  if (m_env.max_payload_bytes == 0) return;
  const std::size_t n = json_size_up_to(value, m_env.max_payload_bytes);
  if (n > m_env.max_payload_bytes)
    throw Error("run.payload_too_large", states_error::DataLimitExceeded,
                "state data exceeds the limit of " + std::to_string(m_env.max_payload_bytes) + " bytes",
                {{"state", f.state}});
}

Json Interpreter::effective_input(const Frame& f, const lang::State& s) {
  Json& ctx = context(f);
  Json in = s.input_path.apply(f.input, ctx);
  if (s.parameters && s.type != StateType::Map) in = s.parameters->evaluate(in, ctx);
  return in;
}

void Interpreter::step(const std::string& frame_id) {
  Frame* f = m_state.find(frame_id);
  if (!f || m_state.ended()) return;
  switch (f->phase) {
    case Phase::Ready: enter_state(*f); break;
    case Phase::TaskDone: complete_task(*f); break;
    case Phase::Children: check_children(*f); break;
    default: break;  // timers and in-flight tasks are driven by the engine
  }
}

void Interpreter::enter_state(Frame& f) {
  const lang::State& s = f.def();
  try {
    switch (s.type) {
      case StateType::Pass: {
        Json& ctx = context(f);
        Json eff = s.input_path.apply(f.input, ctx);
        Json result = s.result ? *s.result : (s.parameters ? s.parameters->evaluate(eff, ctx) : eff);
        finish_state(f, result, false);
        return;
      }
      case StateType::Succeed: {
        Json& ctx = context(f);
        Json out = s.output_path.apply(s.input_path.apply(f.input, ctx), ctx);
        end_frame_ok(f, std::move(out));
        return;
      }
      case StateType::Fail: {
        Json& ctx = context(f);
        FlowError err{s.error.value_or(""), s.cause.value_or("")};
        auto dynamic = [&](const std::optional<lang::DynamicValue>& v, std::string& out, const char* what) {
          if (!v) return;
          Json j = v->evaluate(f.input, ctx, states_error::Runtime);
          if (!j.is_string())
            throw Error("run.fail_path", states_error::Runtime,
                        std::string(what) + " must select a string, got " + std::string(j.type_name()),
                        {{"state", f.state}});
          out = j.get<std::string>();
        };
        dynamic(s.error_path, err.error, "ErrorPath");
        dynamic(s.cause_path, err.cause, "CausePath");
        end_frame_failed(f, err);
        return;
      }
      case StateType::Choice: {
        Json& ctx = context(f);
        Json eff = s.input_path.apply(f.input, ctx);
        const std::string* next = nullptr;
        for (const auto& c : s.choices) {
          if (c.rule.evaluate(eff, ctx)) {
            next = &c.next;
            break;
          }
        }
        if (!next && s.default_next) next = &*s.default_next;
        if (!next) {
          handle_error(f, {states_error::NoChoiceMatched, "no choice rule matched and there is no Default"},
                       Origin::State);
          return;
        }
        Json out = s.output_path.apply(eff, ctx);
        transition(f, *next, std::move(out));
        return;
      }
      case StateType::Wait: enter_wait(f, s, s.input_path.apply(f.input, context(f))); return;
      case StateType::Task:
      case StateType::Action: {
        // TimeoutSecondsPath / HeartbeatSecondsPath read the state input
        // (after InputPath), not the action's payload.
        Json& ctx = context(f);
        Json in = s.input_path.apply(f.input, ctx);
        Json eff = s.parameters ? s.parameters->evaluate(in, ctx) : in;
        enter_task(f, s, in, eff);
        return;
      }
      case StateType::Parallel: enter_children(f, s, effective_input(f, s)); return;
      case StateType::Map: enter_children(f, s, s.input_path.apply(f.input, context(f))); return;
    }
  } catch (const Error& e) {
    handle_error(f, to_flow_error(e), Origin::State);
  }
}

void Interpreter::enter_wait(Frame& f, const lang::State& s, const Json& eff) {
  const std::int64_t now = m_env.now_ms();
  std::int64_t until = now;
  auto from_seconds = [&](double secs) {
    if (!std::isfinite(secs) || secs < 0)
      throw Error("run.wait", states_error::Runtime, "wait seconds must be a non-negative number", {{"state", f.state}});
    return now + static_cast<std::int64_t>(std::llround(std::min(secs, 1e11) * 1000.0));
  };
  auto from_timestamp = [&](const std::string& text) -> std::int64_t {
    // parse_instant covers years 0000-9999; a wait far in the future is
    // legal (the run simply waits), so clamp rather than reject.
    auto t = lang::parse_instant(text);
    if (!t) throw Error("run.wait", states_error::Runtime, "not an RFC 3339 timestamp: " + text, {{"state", f.state}});
    const long long max_s = 1LL << 42;
    return std::clamp(t->seconds, -max_s, max_s) * 1000 + t->nanos / 1'000'000;
  };
  if (s.seconds) until = from_seconds(*s.seconds);
  else if (s.timestamp) until = from_timestamp(*s.timestamp);
  else if (s.seconds_path) {
    Json v = s.seconds_path->evaluate(eff, context(f), states_error::Runtime);
    if (!v.is_number()) throw Error("run.wait", states_error::Runtime, "SecondsPath must select a number", {{"state", f.state}});
    until = from_seconds(v.get<double>());
  } else if (s.timestamp_path) {
    Json v = s.timestamp_path->evaluate(eff, context(f), states_error::Runtime);
    if (!v.is_string()) throw Error("run.wait", states_error::Runtime, "TimestampPath must select a string", {{"state", f.state}});
    until = from_timestamp(v.get<std::string>());
  }
  emit(RecordType::WaitStarted, {{"f", f.id}, {"until", until}});
}

void Interpreter::enter_task(Frame& f, const lang::State& s, const Json& state_input, const Json& eff) {
  check_size(eff, f);
  const std::int64_t now = m_env.now_ms();
  TaskRecord task;
  task.f = f.id;
  task.r = s.resource;
  task.data = eff;
  task.att = f.attempt;
  task.t = now;
  auto positive = [&](const std::optional<lang::DynamicValue>& v, const char* what) -> std::optional<double> {
    if (!v) return std::nullopt;
    Json j = v->evaluate(state_input, context(f), states_error::Runtime);
    if (!j.is_number() || j.get<double>() <= 0)
      throw Error("run.timeout_path", states_error::Runtime, std::string(what) + " must select a positive number",
                  {{"state", f.state}});
    return j.get<double>();
  };
  std::optional<double> timeout = s.type == StateType::Action ? std::optional<double>(s.wait_time) : s.timeout_seconds;
  if (!timeout) timeout = positive(s.timeout_seconds_path, "TimeoutSecondsPath");
  std::optional<double> heartbeat = s.heartbeat_seconds;
  if (!heartbeat) heartbeat = positive(s.heartbeat_seconds_path, "HeartbeatSecondsPath");
  if (timeout) task.dl = now + static_cast<std::int64_t>(std::llround(std::min(*timeout, 1e11) * 1000.0));
  task.hb = heartbeat;
  // The action id needs the attempt and visit, which the frame already has.
  task.a = action_id(m_state.info().run_id, f);
  emit(Event{RecordType::TaskScheduled, Json(), std::move(task)});
}

void Interpreter::enter_children(Frame& f, const lang::State& s, const Json& eff) {
  if (s.type == StateType::Parallel) {
    emit(RecordType::ChildrenStarted, {{"f", f.id}, {"n", s.branches.size()}});
    const std::int64_t t = m_env.now_ms();
    for (std::size_t i = 0; i < s.branches.size(); ++i)
      emit(Event{child_entry(child_id(f, i), s.branches[i]->start_at, eff, t, f.id, i)});
    return;
  }
  Json items = s.items_path.apply(eff, context(f));
  if (!items.is_array())
    throw Error("run.map_items", states_error::Runtime,
                "ItemsPath must select an array, got " + std::string(items.type_name()), {{"state", f.state}});
  const std::size_t n = items.size();
  emit(RecordType::ChildrenStarted, {{"f", f.id}, {"n", n}});
  Frame* self = m_state.find(f.id);
  self->children.items = std::move(items);
  // ChildrenStarted queued the frame; check_children starts the items.
}

void Interpreter::start_map_items(Frame& f) {
  const lang::State& s = f.def();
  Children& c = f.children;
  Json& ctx = context(f);
  // The Map's effective input, derived only when something here reads it:
  // it holds every item, and copying it at each turn (each batch of items
  // that ended) was a measured share of a large Map's no-op task.
  std::optional<Json> eff_kept;
  auto eff = [&]() -> const Json& {
    if (!eff_kept) eff_kept = s.input_path.apply(f.input, ctx);
    return *eff_kept;
  };
  if (!c.items) {
    c.items = s.items_path.apply(eff(), ctx);  // derived again after a replay
    if (!c.items->is_array() || c.items->size() != c.total)
      throw Error("run.replay", states_error::Runtime, "Map items differ from the journal", {{"state", f.state}});
  }
  std::size_t limit = static_cast<std::size_t>(s.max_concurrency);
  if (s.max_concurrency_path) {
    Json v = s.max_concurrency_path->evaluate(eff(), ctx, states_error::Runtime);
    if (!v.is_number_integer() || v.get<long long>() < 0)
      throw Error("run.map_concurrency", states_error::Runtime, "MaxConcurrencyPath must select a non-negative integer",
                  {{"state", f.state}});
    limit = v.get<std::size_t>();
  }
  if (limit == 0) limit = std::min(c.total, kUnboundedMapWindow);
  const std::int64_t t = m_env.now_ms();
  const std::string fid = f.id;
  while (c.first_pending < c.total && c.status[c.first_pending] != ChildStatus::Pending) ++c.first_pending;
  if (c.running() < limit) make_room(m_outbox, std::min(limit - c.running(), c.total - c.first_pending));
  for (std::size_t i = c.first_pending; i < c.total && c.running() < limit; ++i) {
    if (c.status[i] != ChildStatus::Pending) continue;
    Json item_input = (*c.items)[i];
    if (s.parameters) {
      const Json& map_input = eff();  // before ctx gains "Map": derived as above
      ctx["Map"] = {{"Item", {{"Index", i}, {"Value", (*c.items)[i]}}}};
      item_input = s.parameters->evaluate(map_input, ctx);
      ctx.erase("Map");
    }
    check_size(item_input, f);
    emit(Event{child_entry(child_id(f, i), s.iterator->start_at, std::move(item_input), t, fid, i)});
  }
}

void Interpreter::check_children(Frame& f) {
  const lang::State& s = f.def();
  Children& c = f.children;
  try {
    bool failing = false;
    FlowError error;
    if (c.failed > 0 || c.cancelling) {
      if (s.type == StateType::Parallel) {
        failing = true;
        error = c.first_error.value_or(FlowError{states_error::BranchFailed, "a branch was cancelled"});
      } else {
        const bool tolerant = s.tolerated_failure_count || s.tolerated_failure_percentage;
        const bool over_count = s.tolerated_failure_count && c.failed > static_cast<std::size_t>(*s.tolerated_failure_count);
        const bool over_pct = s.tolerated_failure_percentage &&
                              100.0 * static_cast<double>(c.failed) > *s.tolerated_failure_percentage * static_cast<double>(c.total);
        if (!tolerant || over_count || over_pct || c.cancelling) {
          failing = true;
          error = tolerant ? FlowError{states_error::ExceedToleratedFailureThreshold,
                                       "Map failed items (" + std::to_string(c.failed) + " of " +
                                           std::to_string(c.total) + ") exceed the tolerated failure threshold"}
                           : c.first_error.value_or(FlowError{states_error::BranchFailed, "an iteration was cancelled"});
        }
      }
    }
    if (failing) {
      if (c.running() > 0) {
        // Cancel the siblings still running; their actions are cancelled by
        // the engine once these records are durable.
        std::vector<std::string> running;
        for (std::size_t i = 0; i < c.total; ++i)
          if (c.status[i] == ChildStatus::Running) running.push_back(child_id(f, i));
        const std::string fid = f.id;
        for (const auto& id : running) emit(RecordType::FrameCancelled, {{"f", id}});
        Frame* self = m_state.find(fid);
        if (!self) return;
        // Remember the root cause: cancellations must not replace it.
        self->children.first_error = error;
        if (self->children.running() > 0) return;
        handle_error(*self, error, Origin::Branch);
        return;
      }
      handle_error(f, error, Origin::Branch);
      return;
    }
    if (s.type == StateType::Map && c.started < c.total) {
      start_map_items(f);
      return;
    }
    if (c.ended < c.total) return;
    Json outputs = Json::array();
    for (auto& o : c.outputs) outputs.push_back(std::move(o));
    finish_state(f, outputs);
  } catch (const Error& e) {
    handle_error(f, to_flow_error(e), Origin::State);
  }
}

void Interpreter::complete_task(Frame& f) {
  const lang::State& s = f.def();
  if (s.type == StateType::Action) {
    // Globus Flows stores the action's status document at ResultPath.
    Json doc = {{"action_id", f.task.action_id},
                {"status", f.task.ok ? "SUCCEEDED" : "FAILED"},
                {"start_time", format_time_ms(f.task.started_ms)},
                {"details", f.task.ok ? f.task.output
                                      : Json{{"error", f.task.error.error}, {"cause", f.task.error.cause}}}};
    const std::string& err = f.task.error.error;
    if (!f.task.ok && (err == globus_error::ActionTimeout || err == globus_error::ActionUnableToRun)) {
      handle_error(f, f.task.error, Origin::Task);
    } else if (!f.task.ok && s.exception_on_action_failure) {
      handle_error(f, {globus_error::ActionFailed, doc.dump()}, Origin::Task);
    } else {
      finish_state(f, doc);
    }
    return;
  }
  if (f.task.ok) finish_state(f, f.task.output, /*apply_selector=*/!f.task.selected);
  else handle_error(f, f.task.error, Origin::Task);
}

void Interpreter::finish_state(Frame& f, const Json& result, bool apply_selector) {
  const lang::State& s = f.def();
  try {
    Json& ctx = context(f);
    Json selected = (apply_selector && s.result_selector) ? s.result_selector->evaluate(result, ctx) : result;
    Json merged = s.result_path.apply(f.input, selected);
    Json out = s.output_path.apply(merged, ctx);
    if (s.end || !s.next) end_frame_ok(f, std::move(out));
    else transition(f, *s.next, std::move(out));
  } catch (const Error& e) {
    handle_error(f, to_flow_error(e), Origin::State);
  }
}

void Interpreter::transition(Frame& f, const std::string& next, Json output, const FlowError* caught) {
  check_size(output, f);
  EntryRecord r = entry(f.id, next, std::move(output), m_env.now_ms());
  if (caught) r.err.emplace(caught->error, caught->cause);
  emit(Event{std::move(r)});
}

void Interpreter::end_frame_ok(Frame& f, Json output) {
  check_size(output, f);
  if (f.id.empty()) {
    emit(RecordType::RunEnded, {{"status", "SUCCEEDED"}, {"out", std::move(output)}, {"t", m_env.now_ms()}});
  } else {
    emit(Event{EndRecord{f.id, std::move(output)}});
  }
}

void Interpreter::end_frame_failed(Frame& f, const FlowError& error) {
  if (f.id.empty()) {
    emit(RecordType::RunEnded, {{"status", "FAILED"}, {"e", error.error}, {"c", error.cause}, {"t", m_env.now_ms()}});
  } else {
    emit(RecordType::FrameEnded, {{"f", f.id}, {"ok", false}, {"e", error.error}, {"c", error.cause}});
  }
}

void Interpreter::handle_error(Frame& f, const FlowError& error, Origin origin) {
  const lang::State& s = f.def();
  auto matches = [&](const std::vector<std::string>& names) {
    if (is_terminal_error(error.error)) return false;
    for (const auto& n : names) {
      if (n == error.error || n == states_error::All) return true;
      // States.TaskFailed names any failure of the task's action except a timeout.
      if (n == states_error::TaskFailed && origin == Origin::Task && error.error != states_error::Timeout &&
          error.error != states_error::HeartbeatTimeout)
        return true;
      if (n == states_error::BranchFailed && origin == Origin::Branch) return true;
    }
    return false;
  };
  try {
    for (std::size_t k = 0; k < s.retry.size(); ++k) {
      const lang::Retrier& r = s.retry[k];
      if (!matches(r.error_equals)) continue;
      const int count = f.retry_counts[k];
      if (count >= r.max_attempts) break;  // exhausted: fall through to Catch
      double delay = r.interval_seconds * std::pow(r.backoff_rate, count);
      if (r.max_delay_seconds) delay = std::min(delay, *r.max_delay_seconds);
      if (r.full_jitter) delay *= m_env.random01();
      const std::int64_t until = m_env.now_ms() + static_cast<std::int64_t>(std::llround(std::min(delay, 1e9) * 1000.0));
      emit(RecordType::RetryScheduled, {{"f", f.id}, {"k", k}, {"until", until}, {"e", error.error}, {"c", error.cause}});
      return;
    }
    for (const auto& c : s.catchers) {
      if (!matches(c.error_equals)) continue;
      Json out = c.result_path.apply(f.input, Json{{"Error", error.error}, {"Cause", error.cause}});
      transition(f, c.next, std::move(out), &error);
      return;
    }
  } catch (const Error& e) {
    // The Catch's own ResultPath failed (or the output is too large): the
    // state fails with that error instead.
    end_frame_failed(f, to_flow_error(e));
    return;
  }
  end_frame_failed(f, error);
}

void Interpreter::fire_timer(const std::string& frame_id) {
  Frame* f = m_state.find(frame_id);
  if (!f || m_state.ended()) return;
  if (f->phase == Phase::Retrying) {
    emit(RecordType::RetryStarted, {{"f", f->id}});
    return;
  }
  if (f->phase != Phase::Waiting) return;
  const lang::State& s = f->def();
  try {
    Json& ctx = context(*f);
    Json out = s.output_path.apply(s.input_path.apply(f->input, ctx), ctx);
    if (s.end || !s.next) end_frame_ok(*f, std::move(out));
    else transition(*f, *s.next, std::move(out));
  } catch (const Error& e) {
    handle_error(*f, to_flow_error(e), Origin::State);
  }
}

TaskRecord Interpreter::succeeded(const std::string& frame_id, const std::string& action_id, Json out, bool sel) {
  TaskRecord task;
  task.f = frame_id;
  task.a = action_id;
  task.data = std::move(out);
  task.sel = sel;
  task.t = m_env.now_ms();
  return task;
}

void Interpreter::task_finished(const std::string& frame_id, const actions::ActionState& result) {
  Frame* f = m_state.find(frame_id);
  if (!f || f->phase != Phase::Task || f->task.action_id != result.action_id) return;
  if (result.status == actions::ActionStatus::Succeeded) {
    // Journal what the state keeps: with a ResultSelector, its result (marked
    // "sel", used as is on replay), not the action's whole output, so a
    // command's 15 MB JSON stdout that the selector discards never reaches
    // the journal. A selector that fails is left to complete_task, which
    // raises its error from the whole output as before.
    const lang::State& s = f->def();
    if (s.type == StateType::Task && s.result_selector) {
      std::optional<Json> selected;
      try {
        selected = s.result_selector->evaluate(result.details, context(*f));
      } catch (const Error&) {
      }
      if (selected) {
        emit(Event{RecordType::TaskSucceeded, Json(), succeeded(frame_id, result.action_id, std::move(*selected), true)});
        return;
      }
    }
    emit(Event{RecordType::TaskSucceeded, Json(), succeeded(frame_id, result.action_id, result.details, false)});
  } else {
    const std::string error = result.error.empty() ? states_error::TaskFailed : result.error;
    emit(RecordType::TaskFailed, {{"f", frame_id}, {"a", result.action_id}, {"e", error}, {"c", result.cause}, {"t", m_env.now_ms()}});
  }
}

void Interpreter::task_timed_out(const std::string& frame_id, const std::string& error, const std::string& cause) {
  Frame* f = m_state.find(frame_id);
  if (!f || f->phase != Phase::Task) return;
  emit(RecordType::TaskFailed, {{"f", frame_id}, {"a", f->task.action_id}, {"e", error}, {"c", cause}, {"t", m_env.now_ms()}});
}

void Interpreter::fail_run(const FlowError& error) {
  if (m_state.ended()) return;
  emit(RecordType::RunEnded, {{"status", "FAILED"}, {"e", error.error}, {"c", error.cause}, {"t", m_env.now_ms()}});
}

}  // namespace beamflow::run
