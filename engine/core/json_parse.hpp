#pragma once
// The one way JSON (and the journal's CBOR) enters beamflow: flow files,
// input files and stdin, journal replay, action state files, a command's JSON
// stdout, model inputs. The nesting depth is checked *while parsing*, so a
// 70,000-deep document is rejected after its 513th bracket: no tree is built,
// no recursive destructor or dump() ever sees it, and memory stays bounded.
//
// kMaxJsonDepth (512) is far above any real flow or payload (AWS Step
// Functions caps a payload at 256 KiB; real documents nest < 20 levels) and
// far below what the recursive parts of nlohmann::json (dump, copy, compare)
// and of the language evaluator survive. A scalar is depth 0, `[]` or `{}` is
// depth 1, `[[1]]` depth 2: lang's kMaxDataDepth counts the same way.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"

namespace beamflow {

inline constexpr std::size_t kMaxJsonDepth = 512;

// Parses `text` as one JSON document (strict RFC 8259: one value, valid
// UTF-8, numbers that fit a double). `source` names where it came from (a
// file path, "stdin", "command stdout") in errors. Throws beamflow::Error:
//   json.too_deep  (States.DataLimitExceeded) nesting deeper than max_depth;
//                  context source=, limit=, offset= (the byte of the bracket)
//   json.syntax    (States.Runtime) not valid JSON; context source=, line=,
//                  column=, offset=; the message keeps nlohmann's reason
Json parse_json(std::string_view text, const std::string& source,
                std::size_t max_depth = kMaxJsonDepth);

// parse_json for places that report bad JSON under their own error id
// (transfer.request.invalid, catalog.cursor.invalid, ...): a json.too_deep or
// json.syntax error is rethrown as Error `id` with `asl_name`, the message
// "<what>: <the parser's message>", `context` followed by the parser's
// context (source=, limit=, offset=, line=, column=).
Json parse_json_as(std::string_view text, const std::string& source, const std::string& id,
                   const std::string& asl_name, const std::string& what, Error::Context context = {});

// The same depth limit (json.too_deep), but a syntax error propagates as
// nlohmann's own Json::parse_error / Json::out_of_range, for callers that
// already report those in their own words (the CLI's cli.bad_json with line
// and column, a model repository's model.metadata).
Json parse_json_keep_syntax_errors(std::string_view text, const std::string& source,
                                   std::size_t max_depth = kMaxJsonDepth);

// The same, but a document that is not valid JSON or nests too deep gives
// std::nullopt instead of an error (for "is this JSON?" questions such as a
// command's stdout).
std::optional<Json> try_parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// One CBOR document (RFC 8949, as Json::to_cbor writes it; tags rejected),
// with the same depth limit and errors (json.too_deep, json.syntax with
// offset=).
Json parse_cbor(const std::vector<std::uint8_t>& bytes, const std::string& source,
                std::size_t max_depth = kMaxJsonDepth);

// Compact serialisation for files beamflow stores (input.json, definitions,
// action state): no indentation, invalid UTF-8 replaced rather than thrown.
std::string dump_compact(const Json& value);

}  // namespace beamflow
