#pragma once
// Shared set-up for engine tests: a scratch runs directory and an engine
// with the built-in actions.
#include <filesystem>
#include <string>

#include "../support/scratch_dir.hpp"
#include "actions/action.hpp"
#include "run/engine.hpp"

namespace beamflow::test {

inline const actions::ActionRegistry& builtin_registry() {
  static const actions::ActionRegistry r = [] {
    actions::ActionRegistry reg;
    actions::register_builtin_actions(reg);
    return reg;
  }();
  return r;
}

inline run::RunOptions fast_options(const std::filesystem::path& root, const std::string& run_id = {}) {
  run::RunOptions o;
  o.runs_root = root;
  if (!run_id.empty()) o.run_id = run_id;
  o.durability = journal::Durability::None;
  o.work_dir = root;
  return o;
}

}  // namespace beamflow::test
