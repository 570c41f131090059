#pragma once
// JSONPath as the Amazon States Language uses it (spec: "Paths" and
// "Reference Paths"). A Path selects from the state input ("$...") or from the
// context object ("$$..."). Pure value type: parse once, evaluate many times.
//
// Grammar supported: "$" or "$$", then any of
//   .name   ['name'] ["name"]   [n] (negative n counts from the end)
//   [*] .*   [a,b,...]   [start:end:step]   ..name (deep scan)
//   [?(@.x OP literal)] with OP in == != < <= > >=, and [?(@.x)] (exists),
//   joined with && and ||; @ paths take .name, ['name'] and [n] steps
// Names after '.' may hold any character but . [ ] ( ) quotes and
// whitespace ("$.a-b"); use ['a b'] for the rest. As in Jayway (AWS's
// library) a final ['a','b'] yields one object of the keys present, and
// comparisons never coerce types. Path text is limited to 4096 characters.
// A *reference path* is one that can only ever identify a single node:
// only .name, ['name'] and [n] (n >= 0) steps.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace beamflow::lang {

class Path {
 public:
  // Throws beamflow::Error id "lang.path.syntax" (asl States.Runtime) naming
  // the offending text and the character offset.
  static Path parse(std::string_view text);
  // Like parse but reports failure through the return value.
  static std::optional<Path> try_parse(std::string_view text, std::string* why = nullptr);

  const std::string& text() const noexcept;
  bool is_context() const noexcept;    // begins with "$$"
  bool is_reference() const noexcept;  // single-node path (see above)
  bool is_root() const noexcept;       // exactly "$" (or "$$")
  bool is_definite() const noexcept;   // select() yields the node itself, not an array

  // Selects from `input` ("$") or `context` ("$$"). A definite path (every
  // step selects at most one node) yields that node; an indefinite one
  // (wildcard, slice, union, filter, deep scan) yields an array of matches,
  // possibly empty. Returns nullopt when a definite path matches nothing.
  std::optional<Json> select(const Json& input, const Json& context) const;

  // select(), but a missing node throws beamflow::Error with the given asl
  // name, id "lang.path.no_match", and the path text in the message.
  Json select_or_throw(const Json& input, const Json& context, const char* asl_name) const;

  // ResultPath semantics: returns a copy of `doc` with `value` stored at this
  // reference path, creating intermediate objects. "$" returns `value`.
  // Throws Error id "lang.path.assign" (asl States.ResultPathMatchFailure)
  // when a step crosses a non-object (or an array index out of range).
  Json assign(const Json& doc, Json value) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> m_impl;
};

}  // namespace beamflow::lang
