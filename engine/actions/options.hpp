#pragma once
// A job's options table: Fields (actions/input_spec.hpp) bound to the
// members of the job's options struct. One table gives the action's JSON
// input (options_from_json), its JSON Schema with the struct's defaults
// (options_schema) and the command line (--kebab-case flags whose text
// value_from_text turns into the field's JSON type), so the three cannot
// drift apart. The tables themselves live with their job (e.g.
// jobs/tomography/requests.cpp).
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actions/input_spec.hpp"
#include "core/error.hpp"

namespace beamflow::actions {

template <class Options>
struct OptionField : Field {
  // Stores a value already converted to the field's type (coerce());
  // relative paths resolve against `base`.
  std::function<void(Options&, const Json&, const std::filesystem::path& base)> set;
  std::function<Json(const Options&)> get;  // the struct's value (defaults)
};

// How a job names a bad option: the error for `field` ("" for the request
// as a whole) and what is wrong with it.
using OptionError = std::function<Error(const std::string& field, const std::string& why)>;

// `value` made the field's type where it means the same (a number where
// text is parsed, 3.0 for an integer, "1,2" for an integer list); what is
// wrong otherwise ("wants a integer, not \"two\"").
std::optional<std::string> coerce(const Field& field, Json& value);

// Command-line text as the field's JSON type ("8" -> 8, "1,2" -> [1, 2],
// "true"/"1" -> true); nullopt when it does not parse.
std::optional<Json> value_from_text(FieldType type, const std::string& text);

// Options from a JSON object: required fields, types and unknown names
// checked (a null counts as absent); problems reported through `error`.
template <class O>
O options_from_json(const std::vector<OptionField<O>>& fields, const Json& request,
                    const std::filesystem::path& base, const OptionError& error) {
  if (!request.is_object()) throw error("", "the request must be a JSON object");
  std::set<std::string> known;
  O options;
  for (const auto& f : fields) {
    known.insert(f.name);
    const auto it = request.find(f.name);
    if (it == request.end() || it->is_null()) {
      if (f.is_required) throw error(f.name, "is required");
      continue;
    }
    Json value = *it;
    if (auto why = coerce(f, value)) throw error(f.name, *why);
    f.set(options, value, base);
  }
  for (const auto& [key, value] : request.items())
    if (!known.contains(key)) throw error(key, "is not an option of this job");
  return options;
}

// The fields with the defaults of a default-constructed O.
template <class O>
std::vector<Field> described(const std::vector<OptionField<O>>& fields) {
  const O defaults;
  std::vector<Field> out;
  for (const auto& f : fields) {
    Field d = f;
    if (!f.is_required && f.get) d.default_value = f.get(defaults);
    out.push_back(std::move(d));
  }
  return out;
}

// JSON Schema (draft 2020-12) of a request: descriptions, defaults, no
// unknown fields.
template <class O>
Json options_schema(const std::vector<OptionField<O>>& fields) {
  Json schema = object_schema(described(fields), false);
  if (!schema.contains("required")) schema["required"] = Json::array();
  return schema;
}

}  // namespace beamflow::actions
