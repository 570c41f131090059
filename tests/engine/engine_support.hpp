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

// The commits of a journal, read from its bytes (journal.hpp's layout): a
// commit begins at a record whose flags mark a first record.
struct JournalCommit {
  std::vector<std::uint16_t> types;  // its records' types
  std::uint64_t end = 0;             // the offset just past its last record
};
inline std::vector<JournalCommit> journal_commits(const std::filesystem::path& journal_file) {
  std::ifstream in(journal_file, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  namespace format = journal::format;
  std::vector<JournalCommit> commits;
  for (std::size_t at = format::header_size; at + format::record_header_size <= bytes.size();) {
    if (format::load_u16(bytes.data() + at + 14) & format::flag_first) commits.emplace_back();
    const std::size_t next = at + format::record_header_size + format::load_u32(bytes.data() + at + 4);
    if (!commits.empty()) {
      commits.back().types.push_back(format::load_u16(bytes.data() + at + 12));
      commits.back().end = next;
    }
    at = next;
  }
  return commits;
}

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

// Rewrites a run's journal with each record's body as `body(event)` makes it
// (the event decoded), in the CBOR form every record had before the compact
// task records (record.hpp). Every record keeps its commit flags, so each
// prefix of the journal is one a run could have left.
template <typename Body>
void rewrite_as_cbor(const std::filesystem::path& dir, Body body) {
  std::ifstream in(dir / "journal", std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  const auto records = journal::parse_journal(bytes.data(), bytes.size(), dir / "journal").records;
  const auto header = journal::format::encode_header();
  std::vector<std::uint8_t> out(header.begin(), header.end());
  for (const auto& r : records) {
    const auto flags = journal::format::decode_record(bytes.data() + r.offset, bytes.size() - r.offset)->flags;
    const auto payload = Json::to_cbor(body(run::decode(r.type, r.payload)));
    const std::size_t at = journal::format::append_record(out, r.type, payload.data(), payload.size());
    journal::format::seal_record(out.data() + at, flags);
  }
  std::ofstream(dir / "journal", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

// Rewrites a run directory of layout 2 into layout 1, what beamflow wrote
// before it (run_store.hpp): definition.json and input.json, written as the
// old create() wrote them, beside a journal whose RunStarted has no `layout`
// and no `definition`, and whose records are all CBOR, as then.
inline void to_layout1(const std::filesystem::path& dir) {
  rewrite_as_cbor(dir, [&dir](run::Event e) {
    if (e.type == run::RecordType::RunStarted) {
      std::ofstream(dir / "definition.json") << dump_compact(e.body.at("definition")) << "\n";
      std::ofstream(dir / "input.json") << dump_compact(e.body.at("input")) << "\n";
      e.body.erase("definition");
      e.body.erase("layout");
    }
    return e.body;
  });
}

// A layout-2 journal as beamflow wrote it before the compact records (record.hpp).
inline void to_cbor_records(const std::filesystem::path& dir) {
  rewrite_as_cbor(dir, [](const run::Event& e) { return e.body; });
}

}  // namespace beamflow::test
