#pragma once
// Input and output processing of a state (spec: "Input and Output
// Processing"): payload templates (Parameters, ItemSelector, ResultSelector)
// and InputPath / ResultPath / OutputPath.
#include <optional>
#include <string>

#include "core/json.hpp"
#include "lang/path.hpp"
#include "lang/problems.hpp"

namespace beamflow::lang {

// A payload template with its ".$" fields compiled (paths and intrinsics
// parsed once). Keys ending in ".$" are renamed without the suffix and take
// the value of the path / intrinsic; nested objects and arrays are walked.
class PayloadTemplate {
 public:
  // Compiles `tmpl`. Problems (a ".$" value that is not a string, bad path or
  // intrinsic syntax) are appended to `problems` located under `pointer`.
  static PayloadTemplate compile(const Json& tmpl, const std::string& pointer,
                                 const std::string& state, Problems& problems);

  // Evaluates against (input, context); a default-constructed template (never
  // compiled) yields null. A path that matches nothing throws
  // Error id "lang.payload.path" with asl `path_failure_asl`
  // (States.ParameterPathFailure for Parameters/ItemSelector/ResultSelector);
  // intrinsic failures throw with asl States.IntrinsicFailure.
  Json evaluate(const Json& input, const Json& context,
                const char* path_failure_asl = "States.ParameterPathFailure") const;

  struct Node;

 private:
  std::shared_ptr<const Node> m_root;
};

// InputPath / OutputPath: absent means "$"; JSON null means the empty object.
struct FilterPath {
  enum class Kind { Default, Null, Path } kind = Kind::Default;
  std::optional<Path> path;
  std::string field;  // "InputPath", "OutputPath", ... as named in from_field (for messages)

  // Parses the field `key` of `state_json` (which may be absent).
  static FilterPath from_field(const Json& state_json, const char* key, const std::string& pointer,
                               const std::string& state, Problems& problems);
  // Applies it; a path matching nothing throws Error id "lang.io.no_match"
  // with asl States.Runtime.
  Json apply(const Json& value, const Json& context) const;
};

// ResultPath: absent means "$" (result replaces input); null discards the
// result (input passes through); otherwise a reference path into the input.
struct ResultPathSpec {
  enum class Kind { Default, Null, Path } kind = Kind::Default;
  std::optional<Path> path;

  static ResultPathSpec from_field(const Json& state_json, const char* key,
                                   const std::string& pointer, const std::string& state,
                                   Problems& problems);
  // Combines the state's raw input with its result. Throws asl
  // States.ResultPathMatchFailure when the path cannot be applied.
  Json apply(const Json& raw_input, const Json& result) const;
};

}  // namespace beamflow::lang
