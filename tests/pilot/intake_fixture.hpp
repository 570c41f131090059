#pragma once
// What the intake tests share: a one-state flow, a watcher's submission id,
// a count of a folder's files, and a run made as a pilot makes one.
#include <cstdio>
#include <filesystem>
#include <fstream>
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

// A finished run as far as intake is concerned: D/runs/RUN_ID holding its
// definition.json (what a start's has_run and the archive's checks look for).
inline void make_run(const std::filesystem::path& dir, const std::string& run_id) {
  const std::filesystem::path run = dir / "runs" / run_id;
  std::filesystem::create_directories(run);
  std::ofstream(run / "definition.json") << kFlow->dump();
}

}  // namespace beamflow::pilot::test_intake
