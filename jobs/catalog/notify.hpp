#pragma once
// Curator notifications: when a dataset version waits for approval in a
// curated collection, each curator of that collection gets a durable
// record in its inbox, a folder of JSON files (by default
// $BEAMFLOW_HOME/notifications, see settings.hpp):
//
//   DIR/PRINCIPAL/NAME-vN.json   PRINCIPAL: user-alice, group-curators, or
//                                admin when the collection names no curator
//
// {"kind": "dataset.pending", "identifier", "version", "collection",
//  "title", "owner", "requested_at", "status": "pending", "approve": the
// command that approves it, "reject": the one that rejects it}. A curator's
// decision rewrites every record of that version with "status"
// ("published" or "rejected"), "decided_by" and "reason": the records are
// the history of what each curator was asked, never deleted by beamflow.
// Every write is atomic and fsynced (temp file, rename, directory fsync),
// under DIR/.lock, so a re-sent notification never overwrites a decision.
// A notifier for a program to watch the folder (inotify, mail, chat) needs
// no beamflow code.
#include <filesystem>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/catalog/catalog.hpp"

namespace beamflow::catalog {

class CuratorInbox {
 public:
  explicit CuratorInbox(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  // A "pending" record for each curator of `collection` that has none for
  // this version yet (idempotent: safe to call again after a crash).
  // Throws dataset.notify when a record cannot be written.
  void pending(const Entry& entry, const Collection& collection);
  // Marks every record of this version decided (status, decided_by, reason).
  void decided(const Entry& entry);
  // The records addressed to any of the principals (`admin` for an
  // administrator), oldest first.
  std::vector<Json> records(const Identity& who) const;

  // The inbox folder name of a principal ("user:alice" -> "user-alice").
  static std::string folder(const std::string& principal);

 private:
  std::filesystem::path m_dir;
};

}  // namespace beamflow::catalog
