#pragma once
// Publishing and curating datasets on top of a Catalog: the rules (who may
// see, version, withdraw or approve what) and the durable publish protocol.
//
// publish: check metadata -> mint (committed) -> copy into a staging bag
// under STORAGE/.staging (fsync every file and directory) -> rename the bag
// to STORAGE/ID/vN (fsync the parent) -> record the entry in one catalog
// transaction. A crash before the commit leaves no entry (a staged bag or a
// renamed-but-unrecorded vN is cleaned up by the next publish); after it the
// entry and all its files exist. The minted number is never reused.
// Published in place, the bag holds no copy (only the tag files and a
// fetch.txt naming each file where it is); the protocol is the same, and a
// clean-up never touches the data in place. A version left pending by a
// collection that requires approval notifies its curators (notify.hpp).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jobs/catalog/bagit.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/identifier.hpp"

namespace beamflow::catalog {

struct PublishRequest {
  std::filesystem::path source;         // a file or a directory tree
  Json metadata;                        // {"dc": DataCite, "domain": {...}}
  std::string collection = "default";
  std::vector<std::string> visible_to;  // public, user:x, group:y (empty: the owner only)
  std::string identifier;               // set: publish a new version of it
  std::string request_id;               // idempotency key: a repeat returns the first entry
  bool extract = true;                  // read metadata from known formats (extract.hpp)
  // Publish in place: no copy. The bag on the storage holds the tag files
  // and fetch.txt naming each file where it is (bagit.hpp,
  // write_bag_in_place); verify re-reads the files there. The entry's
  // content gets {"in_place": {"source": ABSOLUTE PATH}}.
  bool in_place = false;
};

struct VerifyReport {
  Entry entry;
  std::vector<BagProblem> problems;  // empty: every file matches the manifest
};

// Who may do what. Pure functions of the entry, the collection and the caller.
bool is_curator(const Identity& who, const Collection& collection);
bool can_see(const Identity& who, const Entry& entry, const Collection& collection);
bool can_manage(const Identity& who, const Entry& entry, const Collection& collection);

// The directory name of an identifier under the storage root
// ("ark:/99999/bf0001x" -> "ark-99999-bf0001x"; other bytes percent-encoded).
std::string storage_name(const std::string& identifier);

// Test hook: when $BEAMFLOW_CATALOG_CRASH_AT names `point`, the process
// SIGKILLs itself there (points: minted, copying, staged, renamed, committed).
void crash_point(const char* point);

class Datasets {
 public:
  Datasets(Catalog& catalog, std::filesystem::path storage, std::unique_ptr<Minter> minter = make_default_minter());

  // Curators of a collection that requires approval are notified of each
  // version waiting for them in this inbox folder (notify.hpp); unset, no
  // one is (tests, tools that only read).
  void notify_curators_in(std::filesystem::path inbox) { m_inbox = std::move(inbox); }

  // Creates or replaces a collection (admin only, or a curator of an
  // existing one). Throws catalog.collection.schema for a bad schema.
  void put_collection(Collection collection, const Identity& who);
  Collection collection(const std::string& name);

  // A pending version's curators are notified (notify_curators_in); a
  // repeat of a request (request_id) re-sends a notification a crash after
  // the commit lost.
  Entry publish(const PublishRequest& request, const Identity& who);
  // version 0: the latest version the caller may see (pending and
  // withdrawn versions are shown only when asked for by number, or when no
  // other exists). Throws dataset.not_found, also for an entry the caller
  // may not see (its existence is not revealed).
  Entry describe(const std::string& identifier, int version, const Identity& who);
  std::vector<Entry> versions(const std::string& identifier, const Identity& who);
  // Re-hashes every file. Throws dataset.withdrawn for a withdrawn version.
  VerifyReport verify(const std::string& identifier, int version, const Identity& who);
  // version 0: every version. Owner, curators and admins only.
  void withdraw(const std::string& identifier, int version, const std::string& reason, const Identity& who);
  // A curator's decision on a pending version; marks its notifications decided.
  Entry decide(const std::string& identifier, int version, bool approve, const std::string& reason,
               const Identity& who);
  std::vector<Entry> pending(const Identity& who);
  SearchResult search(const Query& query, const Identity& who) { return m_catalog.search(query, who); }

  Catalog& catalog() { return m_catalog; }

 private:
  Entry resolve(const std::string& identifier, int version);
  void clean_staging();
  void notify_pending(const Entry& entry);

  Catalog& m_catalog;
  std::filesystem::path m_storage;
  std::unique_ptr<Minter> m_minter;
  std::filesystem::path m_inbox;
};

}  // namespace beamflow::catalog
