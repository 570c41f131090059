// InputPath / OutputPath (FilterPath) and ResultPath (ResultPathSpec): the
// three fields that move a state's data in and out, with AWS's meaning of an
// absent field ("$") and of null (the empty object / the input unchanged).
#include <string>

#include "core/error.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/text.hpp"
#include "lang/payload.hpp"

namespace beamflow::lang {
namespace {

enum class Field { Absent, Null, Text };

// Classifies state_json[key]; a value that is neither null nor a string is
// reported and treated as absent.
Field classify(const Json& state_json, const char* key, const std::string& pointer,
               const std::string& state, Problems& problems) {
  if (!state_json.is_object()) return Field::Absent;
  const auto it = state_json.find(key);
  if (it == state_json.end()) return Field::Absent;
  if (it->is_null()) return Field::Null;
  if (it->is_string()) return Field::Text;
  problems.add(pointer_append(pointer, key), state,
               std::string(key) + " must be a path (a string) or null, not " + detail::a_type(*it));
  return Field::Absent;
}

std::optional<Path> parse_field(const Json& state_json, const char* key, const std::string& pointer,
                                const std::string& state, Problems& problems) {
  std::string why;
  auto path = Path::try_parse(state_json.at(key).get_ref<const std::string&>(), &why);
  if (!path) problems.add(pointer_append(pointer, key), state, std::string(key) + ": " + why);
  return path;
}

}  // namespace

FilterPath FilterPath::from_field(const Json& state_json, const char* key,
                                  const std::string& pointer, const std::string& state,
                                  Problems& problems) {
  FilterPath out;
  out.field = key;
  switch (classify(state_json, key, pointer, state, problems)) {
    case Field::Absent: break;
    case Field::Null: out.kind = Kind::Null; break;
    case Field::Text:
      out.path = parse_field(state_json, key, pointer, state, problems);
      if (out.path) out.kind = Kind::Path;
      break;
  }
  return out;
}

Json FilterPath::apply(const Json& value, const Json& context) const {
  switch (kind) {
    case Kind::Default: return value;
    case Kind::Null: return Json::object();
    case Kind::Path: break;
  }
  if (auto hit = path->select(value, context)) return std::move(*hit);
  const std::string name = field.empty() ? "the path" : field;
  throw Error("lang.io.no_match", states_error::Runtime,
              "Invalid path " + detail::quoted(path->text()) + ": " + name +
                  " matches nothing in the " +
                  (path->is_context() ? "context object" : "input " + detail::json_excerpt(value)),
              {{"field", name}});
}

ResultPathSpec ResultPathSpec::from_field(const Json& state_json, const char* key,
                                          const std::string& pointer, const std::string& state,
                                          Problems& problems) {
  ResultPathSpec out;
  switch (classify(state_json, key, pointer, state, problems)) {
    case Field::Absent: break;
    case Field::Null: out.kind = Kind::Null; break;
    case Field::Text:
      out.path = parse_field(state_json, key, pointer, state, problems);
      if (!out.path) break;
      if (!out.path->is_reference() || out.path->is_context()) {
        problems.add(pointer_append(pointer, key), state,
                     std::string(key) +
                         " must be a reference path into the input (only .name, "
                         "['name'] and [index] steps), not " +
                         detail::quoted(out.path->text()));
        out.path.reset();
        break;
      }
      out.kind = Kind::Path;
      break;
  }
  return out;
}

Json ResultPathSpec::apply(const Json& raw_input, const Json& result) const {
  switch (kind) {
    case Kind::Default: return result;
    case Kind::Null: return raw_input;
    case Kind::Path: break;
  }
  return path->assign(raw_input, result);
}

}  // namespace beamflow::lang
