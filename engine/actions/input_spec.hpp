#pragma once
// The one field system of beamflow. A Field describes one input of an
// action (name, type, description, bounds, default); a list of them gives
// the JSON Schema published in ActionInfo::input_schema and the check run
// before an action acts (InputSpec), so the two cannot drift apart. A job
// whose options also have a command line binds its fields to its options
// struct (actions/options.hpp): the flags (--kebab-case), the JSON input
// and the schema all come from that one table.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actions/action.hpp"

namespace beamflow::actions {

// Path is a string naming a file; IntegerList an array of integers, or the
// same written "1,2,3" (as on a command line).
enum class FieldType { Any, String, Number, Integer, Boolean, StringArray, StringMap, Path, IntegerList };

// One input field, built fluently:
//   Field::of(FieldType::Number, "seconds", "how long to wait").mandatory().at_least(0)
struct Field {
  std::string name;
  FieldType type = FieldType::Any;
  std::string description;
  bool is_required = false;
  Json default_value;                       // shown in the schema ("default") and in --help
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
  Field with_default(Json v) const { return with([&v](Field& f) { f.default_value = std::move(v); }); }
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

// snake_case -> kebab-case: the JSON key "chunk_rows" is the option
// --chunk-rows. The one place the two spellings meet.
std::string kebab_case(std::string name);

// The JSON Schema of one field, and of an object of fields.
Json field_schema(const Field& field);
Json object_schema(const std::vector<Field>& fields, bool additional_properties);

// "string", "integer", "number", "boolean", "array", "object" or "value".
const char* type_name(FieldType type);

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
