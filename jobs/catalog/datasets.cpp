#include "jobs/catalog/datasets.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

#include "core/time.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/extract.hpp"
#include "jobs/catalog/json_schema.hpp"
#include "jobs/catalog/metadata.hpp"
#include "jobs/catalog/notify.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"
#include "platform/private_dir.hpp"

namespace beamflow::catalog {
namespace stdfs = std::filesystem;
namespace {

bool holds_any(const Identity& who, const std::vector<std::string>& principals) {
  const auto mine = who.principals();
  for (const auto& p : principals)
    if (std::find(mine.begin(), mine.end(), p) != mine.end()) return true;
  return false;
}

[[noreturn]] void not_found(const std::string& identifier, int version) {
  throw Error("dataset.not_found", kNotFound,
              "no dataset " + identifier + (version ? " version " + std::to_string(version) : "") +
                  " that you may see",
              {{"identifier", identifier}});
}

[[noreturn]] void not_allowed(const std::string& what, const std::string& identifier) {
  throw Error("dataset.not_allowed", kInvalidInput, what, {{"identifier", identifier}});
}

void sync_dir(const stdfs::path& dir) {
  if (int err = fs::detail::fsync_directory(dir))
    fail("dataset.storage", std::string("directory fsync failed: ") + std::strerror(err), {{"file", dir.string()}});
}

void make_dir(const stdfs::path& dir) {
  std::error_code ec;
  if (stdfs::create_directories(dir, ec); ec)
    fail("dataset.storage", "cannot create directory: " + ec.message(), {{"file", dir.string()}});
}

void make_private_dir(const stdfs::path& dir) {
  try {
    fs::create_private_directories(dir, "dataset.storage");
  } catch (const Error& e) {
    fail("dataset.storage", "cannot create directory: " + e.message(), {{"file", dir.string()}});
  }
}

std::string random_suffix() {
  std::random_device rd;
  static const char* k = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 10; ++i) s += k[rd() % 36];
  return s;
}

// Blocks until this process holds `file`'s flock (publishes of one
// identifier take turns; the lock dies with a killed process).
fs::FileLock lock_blocking(const stdfs::path& file) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  for (;;) {
    if (auto lock = fs::FileLock::try_acquire(file)) return std::move(*lock);
    if (std::chrono::steady_clock::now() > deadline)
      fail("dataset.storage", "another publish of this dataset holds its lock for over 10 minutes",
           {{"file", file.string()}}, true);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

bool is_curator(const Identity& who, const Collection& c) { return who.admin || holds_any(who, c.curators); }

bool can_manage(const Identity& who, const Entry& e, const Collection& c) {
  return who.admin || (!who.user.empty() && who.user == e.owner) || is_curator(who, c);
}

bool can_see(const Identity& who, const Entry& e, const Collection& c) {
  if (can_manage(who, e, c)) return true;
  // A version still waiting for (or refused by) a curator is not public yet.
  if (e.status == EntryStatus::Pending || e.status == EntryStatus::Rejected) return false;
  return holds_any(who, e.visible_to);
}

std::string storage_name(const std::string& identifier) {
  std::string s;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : identifier) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') s += static_cast<char>(c);
    else if (c == ':' || c == '/') s += '-';
    else s += {'%', hex[c >> 4], hex[c & 15]};
  }
  return s;
}

void crash_point(const char* point) {
  const char* at = std::getenv("BEAMFLOW_CATALOG_CRASH_AT");
  if (at && std::string_view(at) == point) ::kill(::getpid(), SIGKILL);
}

Datasets::Datasets(Catalog& catalog, stdfs::path storage, std::unique_ptr<Minter> minter)
    : m_catalog(catalog), m_storage(std::move(storage)), m_minter(std::move(minter)) {}

Collection Datasets::collection(const std::string& name) {
  if (auto c = m_catalog.find_collection(name)) return *c;
  if (name == "default") return Collection{"default", Json(), false, {}};
  throw Error("catalog.collection.not_found", kInvalidInput, "collection: no collection named '" + name + "'",
              {{"field", "collection"}});
}

void Datasets::put_collection(Collection c, const Identity& who) {
  if (c.name.empty() || c.name.size() > 128 || c.name.find_first_of("/:\\ \t\n") != std::string::npos)
    invalid("catalog.collection.invalid", "collection", "'" + c.name + "' is not a plain name");
  if (!c.schema.is_null()) check_schema(c.schema);
  for (std::size_t i = 0; i < c.curators.size(); ++i)
    c.curators[i] = normalise_principal(c.curators[i], "curators[" + std::to_string(i) + "]");
  if (auto existing = m_catalog.find_collection(c.name); !who.admin && !(existing && is_curator(who, *existing)))
    throw Error("dataset.not_allowed", kInvalidInput,
                "only an administrator or a curator of '" + c.name + "' may change it", {{"collection", c.name}});
  m_catalog.put_collection(c);
}

void Datasets::clean_staging() {
  const stdfs::path staging = m_storage / ".staging";
  std::error_code ec;
  std::vector<stdfs::path> items;
  for (stdfs::directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) items.push_back(it->path());
  for (const auto& item : items) {
    if (item.extension() == ".lock") continue;
    if (item.extension() == ".old") {  // an unrecorded version set aside, then interrupted
      stdfs::remove_all(item, ec);
      continue;
    }
    const bool target_note = item.extension() == ".target";
    const stdfs::path stage = target_note ? item.parent_path() / item.stem() : item;
    // Held: a publish in progress. Free: its publisher died; undo what it left.
    auto held = fs::FileLock::try_acquire(stage.string() + ".lock");
    if (!held) continue;
    if (target_note) {
      // The bag was renamed into place; keep it only if its entry was recorded.
      std::istringstream note(fs::read_file(item));
      std::string identifier, version, target;
      std::getline(note, identifier);
      std::getline(note, version);
      std::getline(note, target);
      bool recorded = false;
      for (const auto& e : m_catalog.versions(identifier)) recorded = recorded || std::to_string(e.version) == version;
      if (!recorded && !target.empty()) stdfs::remove_all(target, ec);
      stdfs::remove(item, ec);
    } else {
      stdfs::remove_all(item, ec);
    }
    if (!stdfs::exists(stage.string() + ".target", ec)) stdfs::remove(stage.string() + ".lock", ec);
  }
}

Entry Datasets::publish(const PublishRequest& req, const Identity& who) {
  if (who.user.empty()) invalid("dataset.not_allowed", "owner", "publishing needs a user name");
  if (!req.request_id.empty())
    if (auto done = m_catalog.by_request(req.request_id)) {
      notify_pending(*done);
      return *done;
    }
  const Collection coll = collection(req.collection);
  check_metadata(req.metadata, coll.schema);
  std::vector<std::string> visible;
  for (std::size_t i = 0; i < req.visible_to.size(); ++i)
    visible.push_back(normalise_principal(req.visible_to[i], "visible_to[" + std::to_string(i) + "]"));
  std::error_code ec;
  if (!stdfs::exists(req.source, ec))
    throw Error("dataset.source", kInvalidInput, "does not exist", {{"file", req.source.string()}});
  const stdfs::path source = req.in_place ? stdfs::absolute(req.source).lexically_normal() : req.source;

  // The identifier: a new version of an existing one, or a fresh one.
  std::string identifier = req.identifier;
  if (identifier.empty() && req.metadata["dc"].contains("identifier"))
    identifier = req.metadata["dc"]["identifier"].value("identifier", "");
  ParsedIdentifier id{m_minter->identifier_type(), ""};
  if (!identifier.empty()) {
    id = parse_identifier(identifier, "identifier");
    const auto existing = m_catalog.versions(id.value);
    if (existing.empty())
      throw Error("dataset.not_found", kNotFound,
                  "identifier: " + id.value + " was never published here; omit it to mint a new one",
                  {{"field", "identifier"}, {"identifier", id.value}});
    if (!can_manage(who, existing.back(), collection(existing.back().collection)))
      not_allowed("only the owner, a curator or an administrator may publish a new version of " + id.value,
                  id.value);
  } else {
    id.value = m_minter->mint(m_catalog.next_sequence(m_minter->sequence_name()));
  }
  crash_point("minted");

  // The storage holds published bags: user data, whose folders follow the
  // umask and the storage's own policy. Its .staging folder (bags being
  // written, publish locks) is beamflow's state: owner-only (issue 9 §5).
  make_dir(m_storage);
  make_private_dir(m_storage / ".staging");
  clean_staging();
  const stdfs::path home = m_storage / storage_name(id.value);
  make_dir(home);
  // Publishes of one identifier take turns from choosing the version to
  // recording it, so two cannot claim the same vN directory.
  fs::FileLock turn = lock_blocking(m_storage / ".staging" / (storage_name(id.value) + ".publish.lock"));
  const int version = m_catalog.next_version(id.value);

  Json content = {{"dc", req.metadata["dc"]}, {"domain", req.metadata.value("domain", Json::object())}};
  content["dc"]["identifier"] = {{"identifier", id.value}, {"identifierType", id.type}};
  content["dc"]["version"] = std::to_string(version);
  if (req.extract)
    if (Json x = extract_metadata(source); !x.is_null()) content["extracted"] = std::move(x);
  if (req.in_place) content["in_place"] = {{"source", source.string()}};

  const std::string stage_name = storage_name(id.value) + "-v" + std::to_string(version) + "-" + random_suffix();
  const stdfs::path stage = m_storage / ".staging" / stage_name;
  fs::FileLock stage_lock = lock_blocking(stage.string() + ".lock");
  bool first = true;
  const std::vector<std::pair<std::string, std::string>> bag_info = {
      {"Source-Organization", content["dc"].contains("publisher") && content["dc"]["publisher"].is_string()
                                  ? content["dc"]["publisher"].get<std::string>()
                                  : std::string("beamflow")},
      {"External-Identifier", id.value},
      {"Bag-Software-Agent", "beamflow"},
      {"Version", std::to_string(version)}};
  const auto each_file = [&](const ManifestEntry&) {
    if (first) crash_point("copying");
    first = false;
  };
  const Manifest manifest = req.in_place ? write_bag_in_place(source, stage, bag_info, each_file)
                                         : write_bag(source, stage, bag_info, each_file);
  crash_point("staged");

  // A vN left by a publish killed after its rename but before its commit
  // was never recorded (vN is the next version): it is replaced.
  const stdfs::path target = home / ("v" + std::to_string(version));
  if (stdfs::exists(target, ec)) {
    const stdfs::path trash = m_storage / ".staging" / (stage_name + ".old");
    stdfs::rename(target, trash, ec);
    if (ec) fail("dataset.storage", "cannot move aside an unrecorded version: " + ec.message(), {{"file", target.string()}});
    stdfs::remove_all(trash, ec);
  }
  // Noted before the rename, so a clean-up after a crash can tell a
  // renamed-but-unrecorded bag from a recorded one.
  const stdfs::path note = stage.string() + ".target";
  fs::write_file_atomic(note, id.value + "\n" + std::to_string(version) + "\n" + stdfs::absolute(target).string() + "\n");
  if (::rename(stage.c_str(), target.c_str()) != 0)
    fail("dataset.storage", std::string("cannot move the bag into place: ") + std::strerror(errno),
         {{"file", target.string()}});
  sync_dir(home);
  sync_dir(m_storage / ".staging");
  sync_dir(m_storage);
  crash_point("renamed");

  Entry e;
  e.identifier = id.value;
  e.version = version;
  e.collection = coll.name;
  e.status = coll.requires_approval ? EntryStatus::Pending : EntryStatus::Published;
  e.owner = who.user;
  e.visible_to = visible;
  e.content = std::move(content);
  e.location = stdfs::absolute(target).string();
  e.manifest_digest = manifest.digest;
  e.bytes = manifest.bytes;
  e.files = manifest.files.size();
  e.published_ms = now_ms();
  e.request_id = req.request_id;
  std::vector<Entry> batch{e};
  m_catalog.ingest(batch);
  stdfs::remove(note, ec);
  stdfs::remove(stage.string() + ".lock", ec);
  crash_point("committed");
  notify_pending(batch.front());
  return batch.front();
}

void Datasets::notify_pending(const Entry& e) {
  if (m_inbox.empty() || e.status != EntryStatus::Pending) return;
  CuratorInbox(m_inbox).pending(e, collection(e.collection));
}

Entry Datasets::resolve(const std::string& identifier, int version) {
  const auto id = parse_identifier(identifier, "identifier");
  auto all = m_catalog.versions(id.value);
  if (version > 0) {
    for (auto& e : all)
      if (e.version == version) return e;
    not_found(id.value, version);
  }
  // The latest published version, else the newest of any status.
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->status == EntryStatus::Published) return *it;
  if (all.empty()) not_found(id.value, 0);
  return all.back();
}

Entry Datasets::describe(const std::string& identifier, int version, const Identity& who) {
  Entry e = resolve(identifier, version);
  if (!can_see(who, e, collection(e.collection))) not_found(e.identifier, version);
  if (e.status == EntryStatus::Withdrawn && !can_manage(who, e, collection(e.collection))) {
    // A tombstone: the identifier still resolves, the content does not.
    Json dc = e.content["dc"];
    e.content = {{"dc", {{"identifier", dc["identifier"]}, {"titles", dc["titles"]}}}};
    e.location.clear();
  }
  return e;
}

std::vector<Entry> Datasets::versions(const std::string& identifier, const Identity& who) {
  const auto id = parse_identifier(identifier, "identifier");
  std::vector<Entry> out;
  for (auto& e : m_catalog.versions(id.value))
    if (can_see(who, e, collection(e.collection))) out.push_back(std::move(e));
  if (out.empty()) not_found(id.value, 0);
  return out;
}

VerifyReport Datasets::verify(const std::string& identifier, int version, const Identity& who) {
  Entry e = describe(identifier, version, who);
  if (e.status == EntryStatus::Withdrawn)
    throw Error("dataset.withdrawn", kNotFound,
                e.identifier + " version " + std::to_string(e.version) + " was withdrawn: " + e.reason,
                {{"identifier", e.identifier}});
  VerifyReport r{e, verify_bag(e.location, e.manifest_digest)};
  return r;
}

void Datasets::withdraw(const std::string& identifier, int version, const std::string& reason, const Identity& who) {
  if (reason.find_first_not_of(" \t\n") == std::string::npos)
    invalid("dataset.invalid_request", "reason", "a withdrawal needs a reason (it is shown on the tombstone)");
  const Entry e = resolve(identifier, version);
  const Collection c = collection(e.collection);
  if (!can_see(who, e, c)) not_found(e.identifier, version);
  if (!can_manage(who, e, c)) not_allowed("only the owner, a curator or an administrator may withdraw " + e.identifier, e.identifier);
  m_catalog.set_status(e.identifier, version, EntryStatus::Withdrawn, reason, who.user);
}

Entry Datasets::decide(const std::string& identifier, int version, bool approve, const std::string& reason,
                       const Identity& who) {
  Entry e = resolve(identifier, version);
  const Collection c = collection(e.collection);
  if (!can_see(who, e, c)) not_found(e.identifier, version);
  if (!is_curator(who, c)) not_allowed("only a curator of '" + c.name + "' may approve or reject", e.identifier);
  if (e.status != EntryStatus::Pending)
    throw Error("dataset.state", kInvalidInput,
                e.identifier + " version " + std::to_string(e.version) + " is " + to_string(e.status) +
                    ", not pending" + (e.decided_by.empty() ? "" : " (decided by " + e.decided_by + ")"),
                {{"identifier", e.identifier}});
  if (!approve && reason.find_first_not_of(" \t\n") == std::string::npos)
    invalid("dataset.invalid_request", "reason", "a rejection needs a reason");
  m_catalog.set_status(e.identifier, e.version, approve ? EntryStatus::Published : EntryStatus::Rejected, reason,
                       who.user);
  Entry decided = resolve(e.identifier, e.version);
  if (!m_inbox.empty()) CuratorInbox(m_inbox).decided(decided);
  return decided;
}

std::vector<Entry> Datasets::pending(const Identity& who) {
  std::vector<Entry> out;
  for (auto& e : m_catalog.pending())
    if (can_manage(who, e, collection(e.collection))) out.push_back(std::move(e));
  return out;
}

}  // namespace beamflow::catalog
