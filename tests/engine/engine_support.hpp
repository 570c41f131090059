#pragma once
// Shared set-up for engine tests: a scratch runs directory and an engine
// with the built-in actions.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>
#include <string>

#include "../support/scratch_dir.hpp"
#include "actions/action.hpp"
#include "core/json_parse.hpp"
#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "run/engine.hpp"
#include "run/record.hpp"

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

// Rewrites a run directory of layout 2 into layout 1, what beamflow wrote
// before it (run_store.hpp): definition.json and input.json, written as the
// old create() wrote them, beside a journal whose RunStarted has no `layout`
// and no `definition`. Every record keeps its commit flags, so each prefix
// of the journal is one a run could have left.
inline void to_layout1(const std::filesystem::path& dir) {
  std::ifstream in(dir / "journal", std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  const auto records = journal::parse_journal(bytes.data(), bytes.size(), dir / "journal").records;
  run::Event started = run::decode(records.at(0).type, records.at(0).payload);
  std::ofstream(dir / "definition.json") << dump_compact(started.body.at("definition")) << "\n";
  std::ofstream(dir / "input.json") << dump_compact(started.body.at("input")) << "\n";
  started.body.erase("definition");
  started.body.erase("layout");
  const auto header = journal::format::encode_header();
  std::vector<std::uint8_t> out(header.begin(), header.end());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto flags = journal::format::decode_record(bytes.data() + records[i].offset, bytes.size() - records[i].offset)->flags;
    const auto payload = i == 0 ? run::encode(started) : records[i].payload;
    const std::size_t at = journal::format::append_record(out, records[i].type, payload.data(), payload.size());
    journal::format::seal_record(out.data() + at, flags);
  }
  std::ofstream(dir / "journal", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

}  // namespace beamflow::test
