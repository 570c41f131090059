#pragma once
// What the intake tests share: a one-state flow, a watcher's submission id,
// and a count of a folder's files.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/json.hpp"

namespace beamflow::pilot::test_intake {

inline const std::shared_ptr<const Json> kFlow = std::make_shared<const Json>(
    Json{{"StartAt", "P"}, {"States", {{"P", {{"Type", "Pass"}, {"End", true}}}}}});

// A watcher's id for file i (triggers/event.hpp's shape: REG.f + 32 hex).
inline std::string wid(int i) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", i);
  return std::string("reg.f") + hex;
}

// The entries of `dir` whose name ends in `ext` (all when empty).
inline std::size_t count(const std::filesystem::path& dir, const std::string& ext = "") {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += ext.empty() || e.path().extension() == ext;
  return n;
}

}  // namespace beamflow::pilot::test_intake
