#pragma once
// ASL intrinsic functions ("States.Format('{}', $.x)", ...). An intrinsic is
// parsed once into an expression tree and evaluated against (input, context).
//
// Supported: States.Format, StringToJson, JsonToString, Array, ArrayPartition,
// ArrayContains, ArrayRange, ArrayGetItem, ArrayLength, ArrayUnique,
// Base64Encode, Base64Decode, Hash (MD5, SHA-1, SHA-256, SHA-384, SHA-512),
// JsonMerge, MathRandom, MathAdd, StringSplit, UUID. Arguments are string
// literals in single quotes (with \' \{ \} \\ escapes), numbers, true/false/null,
// paths, and nested intrinsic calls.
#include <memory>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace beamflow::lang {

// True when `text` has the shape of an intrinsic call: "States.Name(...)".
bool looks_like_intrinsic(std::string_view text) noexcept;

class Intrinsic {
 public:
  // Throws Error id "lang.intrinsic.syntax" (asl States.IntrinsicFailure) on
  // bad syntax, unknown function or wrong argument count.
  static Intrinsic parse(std::string_view text);

  const std::string& text() const noexcept;

  // Throws Error id "lang.intrinsic.failure" (asl States.IntrinsicFailure) on
  // wrong argument types or values, and lang.path.no_match with asl
  // States.IntrinsicFailure when a path argument matches nothing.
  Json evaluate(const Json& input, const Json& context) const;

  struct Node;

 private:
  std::shared_ptr<const Node> m_root;
  std::string m_text;
};

}  // namespace beamflow::lang
