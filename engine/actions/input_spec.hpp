#pragma once
// Declarative input checking for the built-in actions: one list of fields
// gives both the JSON Schema published in ActionInfo::input_schema and the
// check run before an action acts, so the two cannot drift apart.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actions/action.hpp"

namespace beamflow::actions {

enum class FieldType { Any, String, Number, Integer, Boolean, StringArray, StringMap };

// One input field, built fluently:
//   Field::of(FieldType::Number, "seconds", "how long to wait").mandatory().at_least(0)
struct Field {
  std::string name;
  FieldType type = FieldType::Any;
  std::string description;
  bool is_required = false;
  std::optional<double> minimum;            // numbers: value >= minimum
  std::optional<double> exclusive_minimum;  // numbers: value > exclusive_minimum
  std::optional<double> maximum;            // numbers: value <= maximum
  bool non_empty = false;                   // strings and arrays: at least one element
  // Strings handed to the operating system (argv, environment): no NUL byte
  // (a C string would end there), and a map's keys are environment names
  // (not empty, no '='). Refused, never silently altered.
  bool exec_strings = false;

  static Field of(FieldType type, std::string name, std::string description = {}) {
    Field f;
    f.type = type;
    f.name = std::move(name);
    f.description = std::move(description);
    return f;
  }
  Field mandatory() const { return with([](Field& f) { f.is_required = true; }); }
  Field at_least(double v) const { return with([v](Field& f) { f.minimum = v; }); }
  Field above(double v) const { return with([v](Field& f) { f.exclusive_minimum = v; }); }
  Field at_most(double v) const { return with([v](Field& f) { f.maximum = v; }); }
  Field not_empty() const { return with([](Field& f) { f.non_empty = true; }); }
  Field for_exec() const { return with([](Field& f) { f.exec_strings = true; }); }

 private:
  template <class F>
  Field with(F&& change) const {
    Field f = *this;
    change(f);
    return f;
  }
};

class InputSpec {
 public:
  // Unknown keys are refused unless `additional_properties`: a misspelt
  // option ("timeout" for "timeout_seconds") must not be silently ignored.
  explicit InputSpec(std::vector<Field> fields, bool additional_properties = false);
  // Accepts any JSON value (schema `{}`).
  static InputSpec any();

  const Json& schema() const noexcept { return m_schema; }
  // Why `input` does not match, naming the field ("input.a must be a number,
  // got string"); nullopt when it matches.
  std::optional<std::string> check(const Json& input) const;

 private:
  std::vector<Field> m_fields;
  bool m_additional;
  bool m_any = false;
  Json m_schema;
};

// Failed with error "Action.InvalidInput" and cause "ACTION: WHY".
ActionState invalid_input(const ActionRequest& request, const std::string& action,
                          const std::string& why);

}  // namespace beamflow::actions
