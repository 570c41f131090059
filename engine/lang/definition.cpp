#include "lang/definition.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

namespace beamflow::lang {
namespace {

constexpr int kMaxMachineDepth = 32;  // nested Parallel/Map definitions
constexpr std::size_t kMaxStateNameLength = 128;
const char* const kAll = states_error::All;

struct Ctx {
  Problems& problems;
  const ResourceCheck& check;
  int depth = 0;
  // Every state name of the whole definition (Parallel branches and Map
  // processors included) and the pointer that first used it.
  std::map<std::string, std::string> names;
};

// Fields each state type may carry, beyond Type and Comment. Anything else is
// reported: a misspelt "Resouce" silently ignored is a bug waiting to happen.
const std::set<std::string>& allowed_fields(StateType t) {
  static const std::map<StateType, std::set<std::string>> fields = {
      {StateType::Pass, {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result"}},
      {StateType::Task,
       {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry",
        "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
        "HeartbeatSecondsPath", "Credentials"}},
      {StateType::Action,
       {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry",
        "Catch", "ActionUrl", "WaitTime", "ExceptionOnActionFailure", "RunAs", "ActionScope"}},
      {StateType::Choice, {"InputPath", "OutputPath", "Choices", "Default"}},
      {StateType::Wait,
       {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"}},
      {StateType::Succeed, {"InputPath", "OutputPath"}},
      {StateType::Fail, {"Error", "Cause", "ErrorPath", "CausePath"}},
      {StateType::Parallel,
       {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry",
        "Catch", "Branches"}},
      {StateType::Map,
       {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters",
        "ResultSelector", "ResultPath", "Retry", "Catch", "Iterator", "ItemProcessor", "MaxConcurrency",
        "MaxConcurrencyPath", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label"}},
  };
  return fields.at(t);
}

std::optional<StateType> parse_type(const std::string& s) {
  static const std::map<std::string, StateType> types = {
      {"Pass", StateType::Pass},         {"Task", StateType::Task},       {"Choice", StateType::Choice},
      {"Wait", StateType::Wait},         {"Succeed", StateType::Succeed}, {"Fail", StateType::Fail},
      {"Parallel", StateType::Parallel}, {"Map", StateType::Map},         {"Action", StateType::Action}};
  auto it = types.find(s);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

bool is_integer(const Json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return true;
  if (!j.is_number_float()) return false;
  double d = j.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// Reads an optional number field with bounds; reports and returns nullopt on
// a wrong type or range.
std::optional<double> number_field(const Json& obj, const char* key, const std::string& ptr,
                                   const std::string& state, Ctx& ctx, double min, bool min_inclusive,
                                   bool integer) {
  if (!obj.contains(key)) return std::nullopt;
  const Json& v = obj.at(key);
  const std::string p = pointer_append(ptr, key);
  if (!v.is_number() || (integer && !is_integer(v))) {
    ctx.problems.add(p, state, std::string(key) + " must be " + (integer ? "an integer" : "a number"));
    return std::nullopt;
  }
  double d = v.get<double>();
  if (!std::isfinite(d) || d < min || (!min_inclusive && d == min)) {
    ctx.problems.add(p, state,
                     std::string(key) + " must be " + (min_inclusive ? ">= " : "> ") +
                         std::to_string(static_cast<long long>(min)));
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> string_field(const Json& obj, const char* key, const std::string& ptr,
                                        const std::string& state, Ctx& ctx) {
  if (!obj.contains(key)) return std::nullopt;
  if (!obj.at(key).is_string()) {
    ctx.problems.add(pointer_append(ptr, key), state, std::string(key) + " must be a string");
    return std::nullopt;
  }
  return obj.at(key).get<std::string>();
}

std::optional<bool> bool_field(const Json& obj, const char* key, const std::string& ptr,
                               const std::string& state, Ctx& ctx) {
  if (!obj.contains(key)) return std::nullopt;
  if (!obj.at(key).is_boolean()) {
    ctx.problems.add(pointer_append(ptr, key), state, std::string(key) + " must be a boolean");
    return std::nullopt;
  }
  return obj.at(key).get<bool>();
}

std::optional<DynamicValue> dynamic_field(const Json& obj, const char* key, const std::string& ptr,
                                          const std::string& state, Ctx& ctx, bool reference_only = true) {
  if (!obj.contains(key)) return std::nullopt;
  return DynamicValue::compile(obj.at(key), pointer_append(ptr, key), state, ctx.problems, reference_only);
}

// Parameters, ItemSelector and ResultSelector are JSON objects (spec:
// "Parameters ... MUST be a JSON object"); their values may be anything.
std::optional<PayloadTemplate> template_field(const Json& obj, const char* key, const std::string& ptr,
                                              const std::string& state, Ctx& ctx) {
  if (!obj.contains(key)) return std::nullopt;
  if (!obj.at(key).is_object()) {
    ctx.problems.add(pointer_append(ptr, key), state, std::string(key) + " must be a JSON object");
    return std::nullopt;
  }
  return PayloadTemplate::compile(obj.at(key), pointer_append(ptr, key), state, ctx.problems);
}

// Both a value field and its ...Path variant: the spec allows one at most.
void exclusive(const Json& obj, const char* a, const char* b, const std::string& ptr,
               const std::string& state, Ctx& ctx) {
  if (obj.contains(a) && obj.contains(b))
    ctx.problems.add(ptr, state, std::string("only one of ") + a + " and " + b + " may be given");
}

std::vector<std::string> error_equals(const Json& obj, const std::string& ptr, const std::string& state,
                                      Ctx& ctx) {
  std::vector<std::string> names;
  const std::string p = pointer_append(ptr, "ErrorEquals");
  if (!obj.contains("ErrorEquals") || !obj["ErrorEquals"].is_array() || obj["ErrorEquals"].empty()) {
    ctx.problems.add(p, state, "ErrorEquals must be a non-empty array of error names");
    return names;
  }
  for (std::size_t i = 0; i < obj["ErrorEquals"].size(); ++i) {
    const Json& e = obj["ErrorEquals"][i];
    if (!e.is_string() || e.get<std::string>().empty()) {
      ctx.problems.add(pointer_append(p, i), state, "error names must be non-empty strings");
      continue;
    }
    names.push_back(e.get<std::string>());
  }
  if (names.size() > 1 && std::find(names.begin(), names.end(), kAll) != names.end())
    ctx.problems.add(p, state, "States.ALL must appear alone in ErrorEquals");
  return names;
}

// Spec: a Retrier/Catcher naming States.ALL must be the last one.
void check_all_last(const std::vector<std::vector<std::string>>& lists, const std::string& ptr,
                    const std::string& state, Ctx& ctx) {
  for (std::size_t i = 0; i + 1 < lists.size(); ++i) {
    if (std::find(lists[i].begin(), lists[i].end(), kAll) != lists[i].end())
      ctx.problems.add(pointer_append(ptr, i), state, "a States.ALL entry must be the last one");
  }
}

std::vector<Retrier> compile_retry(const Json& sj, const std::string& ptr, const std::string& state,
                                   Ctx& ctx) {
  std::vector<Retrier> out;
  if (!sj.contains("Retry")) return out;
  const std::string p = pointer_append(ptr, "Retry");
  if (!sj["Retry"].is_array()) {
    ctx.problems.add(p, state, "Retry must be an array of retriers");
    return out;
  }
  std::vector<std::vector<std::string>> lists;
  static const std::set<std::string> known = {"ErrorEquals", "IntervalSeconds", "MaxAttempts",
                                              "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"};
  for (std::size_t i = 0; i < sj["Retry"].size(); ++i) {
    const Json& r = sj["Retry"][i];
    const std::string rp = pointer_append(p, i);
    if (!r.is_object()) {
      ctx.problems.add(rp, state, "a retrier must be an object");
      continue;
    }
    for (const auto& [k, v] : r.items())
      if (!known.count(k)) ctx.problems.add(pointer_append(rp, k), state, "unknown Retry field '" + k + "'");
    Retrier rt;
    rt.error_equals = error_equals(r, rp, state, ctx);
    lists.push_back(rt.error_equals);
    // Fractional intervals are accepted (the spec asks for integers) so tests
    // and tight loops need not wait whole seconds.
    if (auto v = number_field(r, "IntervalSeconds", rp, state, ctx, 0, false, false)) rt.interval_seconds = *v;
    if (auto v = number_field(r, "MaxAttempts", rp, state, ctx, 0, true, true))
      rt.max_attempts = static_cast<int>(std::min(*v, 1e9));
    if (auto v = number_field(r, "BackoffRate", rp, state, ctx, 1, true, false)) rt.backoff_rate = *v;
    rt.max_delay_seconds = number_field(r, "MaxDelaySeconds", rp, state, ctx, 0, false, false);
    if (auto j = string_field(r, "JitterStrategy", rp, state, ctx)) {
      if (*j == "FULL") rt.full_jitter = true;
      else if (*j != "NONE")
        ctx.problems.add(pointer_append(rp, "JitterStrategy"), state, "JitterStrategy must be FULL or NONE");
    }
    out.push_back(std::move(rt));
  }
  check_all_last(lists, p, state, ctx);
  return out;
}

std::vector<Catcher> compile_catch(const Json& sj, const std::string& ptr, const std::string& state,
                                   Ctx& ctx) {
  std::vector<Catcher> out;
  if (!sj.contains("Catch")) return out;
  const std::string p = pointer_append(ptr, "Catch");
  if (!sj["Catch"].is_array()) {
    ctx.problems.add(p, state, "Catch must be an array of catchers");
    return out;
  }
  std::vector<std::vector<std::string>> lists;
  static const std::set<std::string> known = {"ErrorEquals", "Next", "ResultPath", "Comment"};
  for (std::size_t i = 0; i < sj["Catch"].size(); ++i) {
    const Json& c = sj["Catch"][i];
    const std::string cp = pointer_append(p, i);
    if (!c.is_object()) {
      ctx.problems.add(cp, state, "a catcher must be an object");
      continue;
    }
    for (const auto& [k, v] : c.items())
      if (!known.count(k)) ctx.problems.add(pointer_append(cp, k), state, "unknown Catch field '" + k + "'");
    Catcher ct;
    ct.error_equals = error_equals(c, cp, state, ctx);
    lists.push_back(ct.error_equals);
    if (auto n = string_field(c, "Next", cp, state, ctx)) ct.next = *n;
    else if (!c.contains("Next")) ctx.problems.add(cp, state, "a catcher must have Next");
    ct.result_path = ResultPathSpec::from_field(c, "ResultPath", cp, state, ctx.problems);
    out.push_back(std::move(ct));
  }
  check_all_last(lists, p, state, ctx);
  return out;
}

std::shared_ptr<const StateMachine> compile_machine(const Json& j, const std::string& ptr, Ctx& ctx);

void compile_transition(const Json& sj, State& s, Ctx& ctx) {
  const bool has_next = sj.contains("Next");
  const bool has_end = sj.contains("End");
  if (has_end && !sj["End"].is_boolean()) ctx.problems.add(pointer_append(s.pointer, "End"), s.name, "End must be a boolean");
  s.end = has_end && sj["End"].is_boolean() && sj["End"].get<bool>();
  if (auto n = string_field(sj, "Next", s.pointer, s.name, ctx)) s.next = *n;
  if (has_next && s.end) ctx.problems.add(s.pointer, s.name, "a state cannot have both Next and End");
  if (!has_next && !s.end) ctx.problems.add(s.pointer, s.name, "a " + std::string(to_string(s.type)) +
                                                                    " state must have Next or \"End\": true");
}

void compile_task_like(const Json& sj, State& s, Ctx& ctx) {
  const char* res_key = s.type == StateType::Action ? "ActionUrl" : "Resource";
  if (auto r = string_field(sj, res_key, s.pointer, s.name, ctx)) {
    s.resource = *r;
    if (ctx.check && !ctx.check(s.resource))
      ctx.problems.add(pointer_append(s.pointer, res_key), s.name,
                       "no action named by " + std::string(res_key) + " '" + s.resource + "'");
  } else if (!sj.contains(res_key)) {
    ctx.problems.add(s.pointer, s.name, std::string("missing ") + res_key);
  }
  s.result_selector = template_field(sj, "ResultSelector", s.pointer, s.name, ctx);
  s.retry = compile_retry(sj, s.pointer, s.name, ctx);
  s.catchers = compile_catch(sj, s.pointer, s.name, ctx);
  if (s.type == StateType::Action) {
    if (auto w = number_field(sj, "WaitTime", s.pointer, s.name, ctx, 0, false, false)) s.wait_time = *w;
    if (auto e = bool_field(sj, "ExceptionOnActionFailure", s.pointer, s.name, ctx))
      s.exception_on_action_failure = *e;
    return;
  }
  exclusive(sj, "TimeoutSeconds", "TimeoutSecondsPath", s.pointer, s.name, ctx);
  exclusive(sj, "HeartbeatSeconds", "HeartbeatSecondsPath", s.pointer, s.name, ctx);
  s.timeout_seconds = number_field(sj, "TimeoutSeconds", s.pointer, s.name, ctx, 0, false, true);
  s.heartbeat_seconds = number_field(sj, "HeartbeatSeconds", s.pointer, s.name, ctx, 0, false, true);
  s.timeout_seconds_path = dynamic_field(sj, "TimeoutSecondsPath", s.pointer, s.name, ctx);
  s.heartbeat_seconds_path = dynamic_field(sj, "HeartbeatSecondsPath", s.pointer, s.name, ctx);
  if (s.timeout_seconds && s.heartbeat_seconds && *s.heartbeat_seconds >= *s.timeout_seconds)
    ctx.problems.add(pointer_append(s.pointer, "HeartbeatSeconds"), s.name,
                     "HeartbeatSeconds must be smaller than TimeoutSeconds");
}

void compile_choice(const Json& sj, State& s, Ctx& ctx) {
  const std::string p = pointer_append(s.pointer, "Choices");
  if (!sj.contains("Choices") || !sj["Choices"].is_array() || sj["Choices"].empty()) {
    ctx.problems.add(p, s.name, "a Choice state must have a non-empty Choices array");
  } else {
    for (std::size_t i = 0; i < sj["Choices"].size(); ++i) {
      const Json& r = sj["Choices"][i];
      const std::string rp = pointer_append(p, i);
      ChoiceBranch b;
      if (!r.is_object()) {
        ctx.problems.add(rp, s.name, "a choice rule must be an object");
        continue;
      }
      if (!r.contains("Next") || !r["Next"].is_string()) {
        ctx.problems.add(rp, s.name, "a top-level choice rule must have a string Next");
      } else {
        b.next = r["Next"].get<std::string>();
      }
      Json body = r;
      body.erase("Next");
      b.rule = ChoiceRule::compile(body, rp, s.name, ctx.problems);
      s.choices.push_back(std::move(b));
    }
  }
  if (auto d = string_field(sj, "Default", s.pointer, s.name, ctx)) s.default_next = *d;
}

void compile_wait(const Json& sj, State& s, Ctx& ctx) {
  int given = 0;
  for (const char* k : {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}) given += sj.contains(k);
  if (given != 1)
    ctx.problems.add(s.pointer, s.name,
                     "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath");
  s.seconds = number_field(sj, "Seconds", s.pointer, s.name, ctx, 0, true, false);
  if (auto t = string_field(sj, "Timestamp", s.pointer, s.name, ctx)) {
    if (!parse_instant(*t))
      ctx.problems.add(pointer_append(s.pointer, "Timestamp"), s.name, "Timestamp is not an RFC 3339 timestamp: " + *t);
    s.timestamp = *t;
  }
  s.seconds_path = dynamic_field(sj, "SecondsPath", s.pointer, s.name, ctx);
  s.timestamp_path = dynamic_field(sj, "TimestampPath", s.pointer, s.name, ctx);
}

void compile_fail(const Json& sj, State& s, Ctx& ctx) {
  exclusive(sj, "Error", "ErrorPath", s.pointer, s.name, ctx);
  exclusive(sj, "Cause", "CausePath", s.pointer, s.name, ctx);
  s.error = string_field(sj, "Error", s.pointer, s.name, ctx);
  s.cause = string_field(sj, "Cause", s.pointer, s.name, ctx);
  s.error_path = dynamic_field(sj, "ErrorPath", s.pointer, s.name, ctx, /*reference_only=*/false);
  s.cause_path = dynamic_field(sj, "CausePath", s.pointer, s.name, ctx, /*reference_only=*/false);
}

void compile_parallel(const Json& sj, State& s, Ctx& ctx) {
  const std::string p = pointer_append(s.pointer, "Branches");
  if (!sj.contains("Branches") || !sj["Branches"].is_array() || sj["Branches"].empty()) {
    ctx.problems.add(p, s.name, "a Parallel state must have a non-empty Branches array");
  } else {
    for (std::size_t i = 0; i < sj["Branches"].size(); ++i)
      if (auto m = compile_machine(sj["Branches"][i], pointer_append(p, i), ctx)) s.branches.push_back(m);
  }
  s.result_selector = template_field(sj, "ResultSelector", s.pointer, s.name, ctx);
  s.retry = compile_retry(sj, s.pointer, s.name, ctx);
  s.catchers = compile_catch(sj, s.pointer, s.name, ctx);
}

void compile_map(const Json& sj, State& s, Ctx& ctx) {
  for (const char* k : {"ItemReader", "ResultWriter", "ItemBatcher"})
    if (sj.contains(k))
      ctx.problems.add(pointer_append(s.pointer, k), s.name,
                       std::string(k) + " (distributed Map) is not supported; use an inline Map");
  exclusive(sj, "Iterator", "ItemProcessor", s.pointer, s.name, ctx);
  exclusive(sj, "ItemSelector", "Parameters", s.pointer, s.name, ctx);
  exclusive(sj, "MaxConcurrency", "MaxConcurrencyPath", s.pointer, s.name, ctx);
  const char* key = sj.contains("ItemProcessor") ? "ItemProcessor" : "Iterator";
  if (!sj.contains(key)) {
    ctx.problems.add(s.pointer, s.name, "a Map state must have an ItemProcessor (or Iterator)");
  } else {
    Json body = sj[key];
    if (body.is_object()) body.erase("ProcessorConfig");  // INLINE mode is the only one
    s.iterator = compile_machine(body, pointer_append(s.pointer, key), ctx);
  }
  if (sj.contains("ItemSelector")) s.parameters = template_field(sj, "ItemSelector", s.pointer, s.name, ctx);
  s.items_path = FilterPath::from_field(sj, "ItemsPath", s.pointer, s.name, ctx.problems);
  if (s.items_path.path && !s.items_path.path->is_reference())
    ctx.problems.add(pointer_append(s.pointer, "ItemsPath"), s.name, "ItemsPath must be a Reference Path");
  if (auto m = number_field(sj, "MaxConcurrency", s.pointer, s.name, ctx, 0, true, true))
    s.max_concurrency = static_cast<int>(std::min(*m, 1e6));
  s.max_concurrency_path = dynamic_field(sj, "MaxConcurrencyPath", s.pointer, s.name, ctx);
  if (auto v = number_field(sj, "ToleratedFailurePercentage", s.pointer, s.name, ctx, 0, true, false)) {
    if (*v > 100) ctx.problems.add(pointer_append(s.pointer, "ToleratedFailurePercentage"), s.name, "must be <= 100");
    s.tolerated_failure_percentage = v;
  }
  if (auto v = number_field(sj, "ToleratedFailureCount", s.pointer, s.name, ctx, 0, true, true))
    s.tolerated_failure_count = static_cast<int>(std::min(*v, 1e9));
  s.result_selector = template_field(sj, "ResultSelector", s.pointer, s.name, ctx);
  s.retry = compile_retry(sj, s.pointer, s.name, ctx);
  s.catchers = compile_catch(sj, s.pointer, s.name, ctx);
}

std::optional<State> compile_state(const std::string& name, const Json& sj, const std::string& ptr, Ctx& ctx) {
  if (!sj.is_object()) {
    ctx.problems.add(ptr, name, "a state must be an object");
    return std::nullopt;
  }
  if (!sj.contains("Type") || !sj["Type"].is_string()) {
    ctx.problems.add(ptr, name, "a state must have a string Type");
    return std::nullopt;
  }
  auto type = parse_type(sj["Type"].get<std::string>());
  if (!type) {
    ctx.problems.add(pointer_append(ptr, "Type"), name, "unknown state Type '" + sj["Type"].get<std::string>() + "'");
    return std::nullopt;
  }
  State s;
  s.name = name;
  s.type = *type;
  s.pointer = ptr;
  const auto& allowed = allowed_fields(s.type);
  for (const auto& [k, v] : sj.items()) {
    if (k == "Type" || k == "Comment" || allowed.count(k)) continue;
    ctx.problems.add(pointer_append(ptr, k), name,
                     "field '" + k + "' is not allowed in a " + std::string(to_string(s.type)) + " state");
  }
  if (allowed.count("InputPath")) s.input_path = FilterPath::from_field(sj, "InputPath", ptr, name, ctx.problems);
  if (allowed.count("OutputPath")) s.output_path = FilterPath::from_field(sj, "OutputPath", ptr, name, ctx.problems);
  if (allowed.count("ResultPath")) s.result_path = ResultPathSpec::from_field(sj, "ResultPath", ptr, name, ctx.problems);
  if (allowed.count("Parameters") && sj.contains("Parameters"))
    s.parameters = template_field(sj, "Parameters", ptr, name, ctx);

  switch (s.type) {
    case StateType::Pass:
      if (sj.contains("Result")) s.result = sj["Result"];
      break;
    case StateType::Task:
    case StateType::Action: compile_task_like(sj, s, ctx); break;
    case StateType::Choice: compile_choice(sj, s, ctx); break;
    case StateType::Wait: compile_wait(sj, s, ctx); break;
    case StateType::Fail: compile_fail(sj, s, ctx); break;
    case StateType::Parallel: compile_parallel(sj, s, ctx); break;
    case StateType::Map: compile_map(sj, s, ctx); break;
    case StateType::Succeed: break;
  }
  if (allowed.count("Next") || allowed.count("End")) compile_transition(sj, s, ctx);
  return s;
}

// Every transition target names a state of this machine, and every state is
// reachable from StartAt.
void check_graph(const StateMachine& m, Ctx& ctx) {
  auto targets = [](const State& s) {
    std::vector<std::pair<std::string, std::string>> out;  // (target, pointer)
    if (s.next) out.emplace_back(*s.next, pointer_append(s.pointer, "Next"));
    for (std::size_t i = 0; i < s.choices.size(); ++i)
      if (!s.choices[i].next.empty())
        out.emplace_back(s.choices[i].next, pointer_append(pointer_append(pointer_append(s.pointer, "Choices"), i), "Next"));
    if (s.default_next) out.emplace_back(*s.default_next, pointer_append(s.pointer, "Default"));
    for (std::size_t i = 0; i < s.catchers.size(); ++i)
      if (!s.catchers[i].next.empty())
        out.emplace_back(s.catchers[i].next, pointer_append(pointer_append(pointer_append(s.pointer, "Catch"), i), "Next"));
    return out;
  };
  for (const auto& [name, s] : m.states)
    for (const auto& [t, p] : targets(s))
      if (!m.states.count(t)) ctx.problems.add(p, name, "transition to unknown state '" + t + "'");
  if (!m.states.count(m.start_at)) return;
  std::set<std::string> seen{m.start_at};
  std::deque<std::string> todo{m.start_at};
  while (!todo.empty()) {
    const State& s = m.states.at(todo.front());
    todo.pop_front();
    for (const auto& [t, p] : targets(s))
      if (m.states.count(t) && seen.insert(t).second) todo.push_back(t);
  }
  for (const auto& [name, s] : m.states)
    if (!seen.count(name)) ctx.problems.add(s.pointer, name, "state '" + name + "' is unreachable from StartAt");
}

std::shared_ptr<const StateMachine> compile_machine(const Json& j, const std::string& ptr, Ctx& ctx) {
  if (++ctx.depth > kMaxMachineDepth) {
    ctx.problems.add(ptr, "", "Parallel/Map nesting deeper than " + std::to_string(kMaxMachineDepth));
    --ctx.depth;
    return nullptr;
  }
  struct DepthGuard { int& d; ~DepthGuard() { --d; } } guard{ctx.depth};
  if (!j.is_object()) {
    ctx.problems.add(ptr, "", "a state machine must be a JSON object");
    return nullptr;
  }
  auto m = std::make_shared<StateMachine>();
  m->pointer = ptr;
  static const std::set<std::string> top = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds",
                                            "QueryLanguage", "ProcessorConfig"};
  for (const auto& [k, v] : j.items())
    if (!top.count(k)) ctx.problems.add(pointer_append(ptr, k), "", "unknown top-level field '" + k + "'");
  if (j.contains("QueryLanguage") && j["QueryLanguage"] != "JSONPath")
    ctx.problems.add(pointer_append(ptr, "QueryLanguage"), "", "only the JSONPath query language is supported");
  if (auto s = string_field(j, "StartAt", ptr, "", ctx)) m->start_at = *s;
  else if (!j.contains("StartAt")) ctx.problems.add(ptr, "", "missing StartAt");
  m->timeout_seconds = number_field(j, "TimeoutSeconds", ptr, "", ctx, 0, false, true);
  if (j.contains("Comment") && j["Comment"].is_string()) m->comment = j["Comment"].get<std::string>();
  const std::string sp = pointer_append(ptr, "States");
  if (!j.contains("States") || !j["States"].is_object() || j["States"].empty()) {
    ctx.problems.add(sp, "", "States must be a non-empty object");
    return nullptr;
  }
  for (const auto& [name, sj] : j["States"].items()) {
    const std::string p = pointer_append(sp, name);
    if (name.empty() || name.size() > kMaxStateNameLength) {
      ctx.problems.add(p, name, "state names must have 1 to 128 characters");
      continue;
    }
    // The spec and AWS Step Functions: names are unique across the whole
    // state machine, so $$.State.Name and the history always say which one.
    if (auto [first, fresh] = ctx.names.emplace(name, p); !fresh)
      ctx.problems.add(p, name, "state name '" + name + "' is already used at " + first->second +
                                    " (state names must be unique across the whole state machine, "
                                    "Parallel branches and Map processors included)");
    if (auto s = compile_state(name, sj, p, ctx)) m->states.emplace(name, std::move(*s));
  }
  // Spec: a machine ends only in a terminal state (End, Succeed, Fail); one
  // with none can never complete.
  if (!m->states.empty() && std::none_of(m->states.begin(), m->states.end(), [](const auto& kv) {
        const State& st = kv.second;
        return st.end || st.type == StateType::Succeed || st.type == StateType::Fail;
      }))
    ctx.problems.add(sp, "", "the state machine has no terminal state (End, Succeed or Fail)");
  if (!m->start_at.empty() && !j["States"].contains(m->start_at))
    ctx.problems.add(pointer_append(ptr, "StartAt"), "", "StartAt names unknown state '" + m->start_at + "'");
  check_graph(*m, ctx);
  return m;
}

}  // namespace

const char* to_string(StateType t) noexcept {
  switch (t) {
    case StateType::Pass: return "Pass";
    case StateType::Task: return "Task";
    case StateType::Choice: return "Choice";
    case StateType::Wait: return "Wait";
    case StateType::Succeed: return "Succeed";
    case StateType::Fail: return "Fail";
    case StateType::Parallel: return "Parallel";
    case StateType::Map: return "Map";
    case StateType::Action: return "Action";
  }
  return "?";
}

std::optional<DynamicValue> DynamicValue::compile(const Json& text, const std::string& pointer,
                                                  const std::string& state, Problems& problems,
                                                  bool reference_only) {
  if (!text.is_string()) {
    problems.add(pointer, state, "must be a path or an intrinsic function (a string)");
    return std::nullopt;
  }
  if (reference_only) {
    std::string why;
    auto path = Path::try_parse(text.get<std::string>(), &why);
    if (!path || !path->is_reference()) {
      problems.add(pointer, state, "must be a Reference Path" + (why.empty() ? std::string() : ": " + why));
      return std::nullopt;
    }
  }
  const std::size_t before = problems.size();
  DynamicValue v;
  v.m_template = PayloadTemplate::compile(Json{{"v.$", text}}, pointer, state, problems);
  if (problems.size() != before) return std::nullopt;
  return v;
}

Json DynamicValue::evaluate(const Json& input, const Json& context, const char* failure_asl) const {
  return m_template.evaluate(input, context, failure_asl).at("v");
}

InvalidDefinition::InvalidDefinition(std::vector<Problem> problems)
    : Error("lang.definition.invalid", states_error::Runtime,
            "flow definition has " + std::to_string(problems.size()) + " problem(s)" +
                (problems.empty() ? std::string() : ": " + problems.front().pointer + ": " + problems.front().message)),
      m_problems(std::move(problems)) {}

Json InvalidDefinition::problems_json() const {
  Json out = Json::array();
  for (const auto& p : m_problems) out.push_back({{"pointer", p.pointer}, {"state", p.state}, {"message", p.message}});
  return out;
}

CompileResult compile_definition(const Json& definition, const ResourceCheck& check) {
  Problems problems;
  Ctx ctx{problems, check, 0, {}};
  auto m = compile_machine(definition, "", ctx);
  CompileResult r;
  r.problems = problems.items();
  if (r.problems.empty()) r.machine = std::move(m);
  return r;
}

std::shared_ptr<const StateMachine> compile_or_throw(const Json& definition, const ResourceCheck& check) {
  auto r = compile_definition(definition, check);
  if (!r.problems.empty()) throw InvalidDefinition(std::move(r.problems));
  return r.machine;
}

}  // namespace beamflow::lang
