#pragma once
// `beamflow repair RUN_ID`: a journal damaged before its tail is never
// replayed (run_store.hpp's read_history refuses it); repair cuts it back to
// the end of the last whole commit before the damage, after saying exactly
// which records that drops. The run then resumes from there: actions whose
// records are dropped keep their state directories, so a side-effecting
// action that had finished is not run again (its recorded outcome is reused
// by its action id).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "journal/journal.hpp"

namespace beamflow::run {

struct RepairPlan {
  std::string run_id;
  std::filesystem::path journal_file;
  bool journal_exists = false;
  std::uint64_t file_size = 0;
  std::uint64_t keep_bytes = 0;      // the journal is cut back to this size
  std::size_t kept_records = 0;
  std::optional<journal::Damage> damage;
  bool torn_tail = false;            // bytes after the last whole commit, and no damage
  // Every record that decodes after keep_bytes, in order:
  // {"offset", "type"[, "frame", "state", "action_id", "status"]}.
  std::vector<Json> dropped;
  bool repaired = false;             // set by repair_run once the journal was cut

  // Damage to cut away (a torn tail is cut by the next resume by itself).
  bool needed() const noexcept { return damage.has_value(); }
  Json to_json() const;
};

// What repairing `run_id` would do; reads only. Throws "run.not_found" and
// the journal's open/header errors.
RepairPlan plan_repair(const std::filesystem::path& runs_root, const std::string& run_id);
// Takes the run's lock (throws "run.locked" while another process drives
// it), plans again under it and, when the journal is damaged, cuts it back to
// keep_bytes (fsynced) and marks the run INTERRUPTED in status.json. Throws
// "run.repair" when the cut fails.
RepairPlan repair_run(const std::filesystem::path& runs_root, const std::string& run_id);

}  // namespace beamflow::run
