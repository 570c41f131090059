#include "actions/input_spec.hpp"

#include <cmath>
#include <set>

namespace beamflow::actions {
namespace {

const char* json_type_name(const Json& v) {
  if (v.is_number_integer()) return "integer";
  return v.type_name();
}

Json schema_of(const Field& f) {
  Json s = Json::object();
  switch (f.type) {
    case FieldType::Any: break;
    case FieldType::String:
    case FieldType::Path: s["type"] = "string"; break;
    case FieldType::IntegerList: s["type"] = Json::array({"array", "string"}); break;
    case FieldType::Number: s["type"] = "number"; break;
    case FieldType::Integer: s["type"] = "integer"; break;
    case FieldType::Boolean: s["type"] = "boolean"; break;
    case FieldType::StringArray:
      s["type"] = "array";
      s["items"] = {{"type", "string"}};
      break;
    case FieldType::StringMap:
      s["type"] = "object";
      s["additionalProperties"] = {{"type", "string"}};
      break;
  }
  if (!f.description.empty()) s["description"] = f.description;
  if (f.minimum) s["minimum"] = *f.minimum;
  if (f.exclusive_minimum) s["exclusiveMinimum"] = *f.exclusive_minimum;
  if (f.maximum) s["maximum"] = *f.maximum;
  if (f.non_empty) s[f.type == FieldType::String ? "minLength" : "minItems"] = 1;
  if (!f.default_value.is_null()) s["default"] = f.default_value;
  return s;
}

// "0", "1.5", "1000000000": bounds as a person would write them.
std::string number_text(double d) {
  if (std::abs(d) < 1e15 && d == static_cast<double>(static_cast<long long>(d)))
    return std::to_string(static_cast<long long>(d));
  return Json(d).dump();
}

bool is_integral(const Json& v) {
  if (v.is_number_integer()) return true;
  // 3.0 is an integer to JSON Schema; keep that rule.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return std::isfinite(d) && d == static_cast<double>(static_cast<long long>(d));
  }
  return false;
}

bool has_nul(const Json& s) { return s.get_ref<const std::string&>().find('\0') != std::string::npos; }

// A name for a message: NUL shown as \0.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

std::optional<std::string> check_field(const Field& f, const Json& v) {
  const std::string where = "input." + f.name;
  auto wrong = [&](const char* want) {
    return where + " must be " + want + ", got " + json_type_name(v);
  };
  switch (f.type) {
    case FieldType::Any: break;
    case FieldType::String:
      if (!v.is_string()) return wrong("a string");
      if (f.non_empty && v.get_ref<const std::string&>().empty()) return where + " must not be empty";
      if (f.exec_strings && has_nul(v)) return where + " must not contain a NUL character";
      break;
    case FieldType::Path:
      if (!v.is_string()) return wrong("a string");
      break;
    case FieldType::IntegerList:
      if (!v.is_array()) return wrong("an array of integers");
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number_integer())
          return where + "[" + std::to_string(i) + "] must be an integer, got " + json_type_name(v[i]);
      }
      break;
    case FieldType::Number:
    case FieldType::Integer: {
      if (!v.is_number()) return wrong(f.type == FieldType::Integer ? "an integer" : "a number");
      if (f.type == FieldType::Integer && !is_integral(v)) return wrong("an integer");
      const double d = v.get<double>();
      if (f.minimum && d < *f.minimum) return where + " must be >= " + number_text(*f.minimum);
      if (f.exclusive_minimum && d <= *f.exclusive_minimum)
        return where + " must be > " + number_text(*f.exclusive_minimum);
      if (f.maximum && d > *f.maximum) return where + " must be <= " + number_text(*f.maximum);
      break;
    }
    case FieldType::Boolean:
      if (!v.is_boolean()) return wrong("a boolean");
      break;
    case FieldType::StringArray:
      if (!v.is_array()) return wrong("an array of strings");
      if (f.non_empty && v.empty()) return where + " must not be empty";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) {
          return where + "[" + std::to_string(i) + "] must be a string, got " +
                 json_type_name(v[i]);
        }
        if (f.exec_strings && has_nul(v[i]))
          return where + "[" + std::to_string(i) + "] must not contain a NUL character";
      }
      break;
    case FieldType::StringMap:
      if (!v.is_object()) return wrong("an object of strings");
      for (const auto& [key, item] : v.items()) {
        if (!item.is_string()) {
          return where + "." + key + " must be a string, got " + json_type_name(item);
        }
        if (!f.exec_strings) continue;
        if (key.empty()) return where + " must not have an empty variable name";
        if (key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
          return where + " variable name '" + printable(key) + "' must not contain '=' or a NUL character";
        if (has_nul(item)) return where + "." + key + " must not contain a NUL character";
      }
      break;
  }
  return std::nullopt;
}

}  // namespace

std::string kebab_case(std::string name) {
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

Json field_schema(const Field& field) { return schema_of(field); }

Json object_schema(const std::vector<Field>& fields, bool additional_properties) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const auto& f : fields) {
    properties[f.name] = schema_of(f);
    if (f.is_required) required.push_back(f.name);
  }
  Json schema = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                 {"type", "object"},
                 {"properties", properties},
                 {"additionalProperties", additional_properties}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

const char* type_name(FieldType type) {
  switch (type) {
    case FieldType::String:
    case FieldType::Path: return "string";
    case FieldType::Integer: return "integer";
    case FieldType::Number: return "number";
    case FieldType::Boolean: return "boolean";
    case FieldType::StringArray:
    case FieldType::IntegerList: return "array";
    case FieldType::StringMap: return "object";
    case FieldType::Any: break;
  }
  return "value";
}

InputSpec::InputSpec(std::vector<Field> fields, bool additional_properties)
    : m_fields(std::move(fields)),
      m_additional(additional_properties),
      m_schema(object_schema(m_fields, additional_properties)) {}

InputSpec InputSpec::any() {
  InputSpec spec({}, true);
  spec.m_any = true;
  spec.m_schema = Json::object();
  return spec;
}

std::optional<std::string> InputSpec::check(const Json& input) const {
  if (m_any) return std::nullopt;
  if (!input.is_object()) {
    return std::string("input must be a JSON object, got ") + json_type_name(input);
  }
  std::set<std::string> known;
  for (const auto& f : m_fields) {
    known.insert(f.name);
    const auto it = input.find(f.name);
    if (it == input.end()) {
      if (f.is_required) return "input." + f.name + " is required";
      continue;
    }
    if (auto why = check_field(f, *it)) return why;
  }
  if (!m_additional) {
    for (const auto& [key, value] : input.items()) {
      if (!known.count(key)) {
        std::string names;
        for (const auto& f : m_fields) names += (names.empty() ? "" : ", ") + f.name;
        return "input." + key + " is not a known field (known: " + names + ")";
      }
    }
  }
  return std::nullopt;
}

ActionState invalid_input(const ActionRequest& request, const std::string& action,
                          const std::string& why) {
  return ActionState::failed(request.action_id, "Action.InvalidInput", action + ": " + why);
}

}  // namespace beamflow::actions
