#pragma once
// The ASL conformance cases (tests/conformance/cases/<area>/<name>.json):
// finding them, checking their shape, and comparing what a run produced with
// what a case expects. Shared by the engine-level runner and the CLI sample
// (tests/cli), which differ only in how they run a case.
//
// A case: {"description", "spec", "definition", "input", "expect", "notes"?}
// with "expect" one of
//   {"status": "SUCCEEDED", "output": ...}                    exact JSON equality
//   {"status": "FAILED", "error": "...", "cause"?: "...", "cause_contains"?: "..."}
//   {"status": "INVALID", "problems_contain": ["fragment", ...]}
// An INVALID fragment must occur, case-insensitively, in the pointer, state or
// message of at least one reported problem.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace beamflow::conformance {

using Json = nlohmann::json;
namespace fs = std::filesystem;

inline fs::path cases_root() { return fs::path(BEAMFLOW_SOURCE_DIR) / "tests" / "conformance" / "cases"; }

// Every case file below `root`, sorted so that test order is stable.
inline std::vector<fs::path> case_files(const fs::path& root = cases_root()) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "choice/string_equals" for <root>/choice/string_equals.json.
inline std::string case_id(const fs::path& file, const fs::path& root = cases_root()) {
  return fs::relative(file, root).replace_extension().generic_string();
}

// The id as a GoogleTest name: "choice_string_equals".
inline std::string test_name(const fs::path& file) {
  std::string name = case_id(file);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

inline Json load_case(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open conformance case " + file.string());
  try {
    return Json::parse(in);
  } catch (const Json::parse_error& e) {
    throw std::runtime_error("conformance case " + file.string() + " is not JSON: " + e.what());
  }
}

// What is wrong with a case document's shape; empty when nothing is.
inline std::string malformed(const Json& doc) {
  if (!doc.is_object()) return "a case must be a JSON object";
  for (const char* key : {"description", "spec"}) {
    if (!doc.contains(key) || !doc[key].is_string() || doc[key].get<std::string>().empty())
      return std::string("missing non-empty string '") + key + "'";
  }
  if (!doc.contains("definition") || !doc["definition"].is_object()) return "missing object 'definition'";
  if (!doc.contains("expect") || !doc["expect"].is_object()) return "missing object 'expect'";
  const Json& e = doc["expect"];
  const std::string status = e.value("status", "");
  if (status == "SUCCEEDED") return e.contains("output") ? "" : "SUCCEEDED needs 'output'";
  if (status == "FAILED") {
    if (!e.contains("error") || !e["error"].is_string()) return "FAILED needs a string 'error'";
    for (const char* key : {"cause", "cause_contains"}) {
      if (e.contains(key) && !e[key].is_string()) return std::string("'") + key + "' must be a string";
    }
    return "";
  }
  if (status == "INVALID") {
    const Json& f = e.value("problems_contain", Json());
    if (!f.is_array() || f.empty() || !std::all_of(f.begin(), f.end(), [](const Json& s) { return s.is_string(); }))
      return "INVALID needs a non-empty string array 'problems_contain'";
    return "";
  }
  return "expect.status must be SUCCEEDED, FAILED or INVALID, not '" + status + "'";
}

// What a run produced, in the vocabulary of a case's "expect". `status` may
// also be RUNNING or ERROR (the engine itself failed) to report surprises.
struct Outcome {
  std::string status;
  Json output;
  std::string error;
  std::string cause;
  Json problems = Json::array();  // [{"pointer","state","message"}] when INVALID

  std::string describe() const {
    if (status == "SUCCEEDED") return "SUCCEEDED with output " + output.dump();
    if (status == "INVALID") return "INVALID with problems " + problems.dump();
    return status + " with error '" + error + "', cause '" + cause + "'";
  }
};

namespace detail {
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline bool problem_mentions(const Json& problem, const std::string& fragment) {
  std::string text;
  for (const char* key : {"pointer", "state", "message"}) {
    if (problem.contains(key) && problem[key].is_string()) text += problem[key].get<std::string>() + "\n";
  }
  return lower(text).find(lower(fragment)) != std::string::npos;
}
}  // namespace detail

// Empty when `got` satisfies `expect`; otherwise what differs.
inline std::string mismatch(const Json& expect, const Outcome& got) {
  std::ostringstream why;
  const std::string status = expect.value("status", "");
  if (got.status != status) {
    why << "expected status " << status << ", got " << got.describe();
    return why.str();
  }
  if (status == "SUCCEEDED") {
    if (got.output != expect.at("output"))
      why << "output differs\n  expected: " << expect.at("output").dump() << "\n  got:      " << got.output.dump();
  } else if (status == "FAILED") {
    const std::string error = expect.at("error").get<std::string>();
    if (got.error != error) why << "expected error '" << error << "', got '" << got.error << "'\n";
    if (expect.contains("cause") && got.cause != expect["cause"].get<std::string>())
      why << "expected cause '" << expect["cause"].get<std::string>() << "', got '" << got.cause << "'\n";
    if (expect.contains("cause_contains") &&
        got.cause.find(expect["cause_contains"].get<std::string>()) == std::string::npos)
      why << "expected a cause containing '" << expect["cause_contains"].get<std::string>() << "', got '" << got.cause
          << "'\n";
  } else if (status == "INVALID") {
    for (const Json& fragment : expect.at("problems_contain")) {
      const std::string f = fragment.get<std::string>();
      if (std::none_of(got.problems.begin(), got.problems.end(),
                       [&](const Json& p) { return detail::problem_mentions(p, f); }))
        why << "no problem mentions '" << f << "'\n";
    }
    if (why.tellp() > 0) why << "problems reported: " << got.problems.dump();
  }
  return why.str();
}

}  // namespace beamflow::conformance
