#pragma once
// A flow definition compiled into value types: every path, template and
// choice rule parsed once, every reference checked. Compilation collects
// *all* problems (for `beamflow validate`) instead of stopping at the first.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "lang/choice.hpp"
#include "lang/path.hpp"
#include "lang/payload.hpp"
#include "lang/problems.hpp"

namespace beamflow::lang {

enum class StateType { Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map, Action };
const char* to_string(StateType t) noexcept;

struct Retrier {
  std::vector<std::string> error_equals;
  double interval_seconds = 1.0;
  int max_attempts = 3;
  double backoff_rate = 2.0;
  std::optional<double> max_delay_seconds;
  bool full_jitter = false;
};

struct Catcher {
  std::vector<std::string> error_equals;
  std::string next;
  ResultPathSpec result_path;
};

struct ChoiceBranch {
  ChoiceRule rule;
  std::string next;
};

// A value computed from a path or an intrinsic at run time (ErrorPath,
// SecondsPath, TimeoutSecondsPath, ...). Implemented as a one-field payload
// template so paths and intrinsics are handled by one mechanism.
class DynamicValue {
 public:
  // `reference_only`: the field takes a Reference Path (SecondsPath,
  // TimeoutSecondsPath, ...), not an intrinsic or a multi-node path.
  static std::optional<DynamicValue> compile(const Json& text, const std::string& pointer,
                                             const std::string& state, Problems& problems,
                                             bool reference_only = false);
  Json evaluate(const Json& input, const Json& context, const char* failure_asl) const;

 private:
  PayloadTemplate m_template;
};

struct StateMachine;

struct State {
  std::string name;
  StateType type = StateType::Pass;
  std::string pointer;  // JSON pointer of the state in the definition

  std::optional<std::string> next;  // unset for End / terminal states
  bool end = false;

  FilterPath input_path;
  FilterPath output_path;
  std::optional<PayloadTemplate> parameters;  // Parameters, or ItemSelector for Map
  std::optional<PayloadTemplate> result_selector;
  ResultPathSpec result_path;
  std::vector<Retrier> retry;
  std::vector<Catcher> catchers;

  // Pass
  std::optional<Json> result;
  // Task (Resource) and Action (ActionUrl)
  std::string resource;
  std::optional<double> timeout_seconds;
  std::optional<DynamicValue> timeout_seconds_path;
  std::optional<double> heartbeat_seconds;
  std::optional<DynamicValue> heartbeat_seconds_path;
  // Action (Globus Flows)
  double wait_time = 300.0;
  bool exception_on_action_failure = true;  // Globus Flows' default
  // Choice
  std::vector<ChoiceBranch> choices;
  std::optional<std::string> default_next;
  // Wait
  std::optional<double> seconds;
  std::optional<std::string> timestamp;
  std::optional<DynamicValue> seconds_path;
  std::optional<DynamicValue> timestamp_path;
  // Fail
  std::optional<std::string> error;
  std::optional<std::string> cause;
  std::optional<DynamicValue> error_path;
  std::optional<DynamicValue> cause_path;
  // Parallel
  std::vector<std::shared_ptr<const StateMachine>> branches;
  // Map
  std::shared_ptr<const StateMachine> iterator;
  FilterPath items_path;
  int max_concurrency = 0;  // 0: unbounded
  std::optional<DynamicValue> max_concurrency_path;
  std::optional<double> tolerated_failure_percentage;
  std::optional<int> tolerated_failure_count;
};

struct StateMachine {
  std::string start_at;
  std::map<std::string, State> states;
  std::optional<double> timeout_seconds;
  std::string comment;
  std::string pointer;  // "" for the top level, "/States/P/Branches/0" for a branch

  const State& state(const std::string& name) const { return states.at(name); }
};

// A definition that does not compile: carries every problem found.
class InvalidDefinition : public Error {
 public:
  explicit InvalidDefinition(std::vector<Problem> problems);
  const std::vector<Problem>& problems() const noexcept { return m_problems; }
  Json problems_json() const;  // [{"pointer","state","message"}...]

 private:
  std::vector<Problem> m_problems;
};

// Returns true when a Task Resource / Action ActionUrl names an action this
// engine has. When absent, resources are not checked.
using ResourceCheck = std::function<bool(const std::string& resource)>;

struct CompileResult {
  std::shared_ptr<const StateMachine> machine;  // null when problems is non-empty
  std::vector<Problem> problems;
};

// Compiles and validates: structure, field types, references (Next, Default,
// Catch Next, StartAt), reachability, Retry/Catch rules, paths, templates,
// choice rules, and (with `check`) that every resource resolves.
CompileResult compile_definition(const Json& definition, const ResourceCheck& check = {});
// compile_definition, throwing InvalidDefinition when there are problems.
std::shared_ptr<const StateMachine> compile_or_throw(const Json& definition,
                                                     const ResourceCheck& check = {});

}  // namespace beamflow::lang
