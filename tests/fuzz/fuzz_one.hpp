#pragma once
// One fuzz input through the flow-language front end. The first byte picks
// the entry point, the rest is a JSON document:
//   0 definition compiler   1 JSONPath parse + select   2 intrinsic parse + evaluate
//   3 choice rule compile + evaluate   4 payload template compile + evaluate
// Anything may be rejected, but only with beamflow::Error (or a Problem);
// any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/json_parse.hpp"
#include "lang/choice.hpp"
#include "lang/definition.hpp"
#include "lang/intrinsics.hpp"
#include "lang/path.hpp"
#include "lang/payload.hpp"

namespace beamflow::fuzz {

inline const Json& sample_input() {
  static const Json input = Json::parse(R"({"a":1,"b":[1,2,3,{"c":"x"}],"s":"text","n":null,"t":true,
    "ts":"2026-11-24T10:00:00Z","o":{"p":{"q":[{"r":2.5}]}},"e":[],"u":"é✓"})");
  return input;
}

inline const Json& sample_context() {
  static const Json ctx = Json::parse(R"({"Execution":{"Id":"x","Input":{"k":1}},"State":{"Name":"S"},
    "Map":{"Item":{"Index":3,"Value":{"v":1}}}})");
  return ctx;
}

inline void fuzz_one(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  const int mode = data[0] % 5;
  // As every JSON entry point of beamflow: depth-limited while parsing
  // (core/json_parse.hpp), so deep inputs are rejected, never built.
  const auto parsed = try_parse_json(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  if (!parsed) return;
  const Json& doc = *parsed;
  try {
    lang::Problems problems;
    switch (mode) {
      case 0: (void)lang::compile_definition(doc); break;
      case 1:
        if (doc.is_string()) {
          if (auto p = lang::Path::try_parse(doc.get<std::string>())) {
            (void)p->select(sample_input(), sample_context());
            if (p->is_reference()) (void)p->assign(sample_input(), Json(1));
          }
        }
        break;
      case 2:
        if (doc.is_string()) (void)lang::Intrinsic::parse(doc.get<std::string>()).evaluate(sample_input(), sample_context());
        break;
      case 3: {
        auto rule = lang::ChoiceRule::compile(doc, "", "S", problems);
        if (problems.empty()) (void)rule.evaluate(sample_input(), sample_context());
        break;
      }
      case 4: {
        auto t = lang::PayloadTemplate::compile(doc, "", "S", problems);
        if (problems.empty()) (void)t.evaluate(sample_input(), sample_context());
        break;
      }
    }
  } catch (const Error&) {
    // a clear, typed rejection: what bad input should get
  }
}

}  // namespace beamflow::fuzz
