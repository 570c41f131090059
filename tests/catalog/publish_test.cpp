// Publishing in place (no copy: a holey BagIt bag whose fetch.txt names the
// files where they are, verified there) and the curators' notifications of
// a version waiting for approval. Both are above the catalog backend, so
// they run on SQLite only.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "catalog/support/backends.hpp"
#include "catalog/support/fixtures.hpp"
#include "core/error.hpp"
#include "jobs/catalog/datasets.hpp"
#include "jobs/catalog/notify.hpp"
#include "platform/fs.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

namespace stdfs = std::filesystem;

Identity user(const std::string& name, std::vector<std::string> groups = {}) { return Identity{name, std::move(groups), false}; }
const Identity kAdmin{"root", {}, true};

class Publish : public ::testing::Test {
 protected:
  void SetUp() override {
    m_catalog = SqliteBackend::open_fresh(m_dir.path());
    m_datasets = std::make_unique<Datasets>(*m_catalog, m_dir.path() / "storage");
    m_datasets->notify_curators_in(inbox());
  }
  stdfs::path inbox() const { return m_dir.path() / "notifications"; }
  stdfs::path source(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files) {
    const auto dir = m_dir.path() / name;
    for (const auto& [path, text] : files) {
      stdfs::create_directories((dir / path).parent_path());
      std::ofstream(dir / path, std::ios::binary) << text;
    }
    return dir;
  }
  Entry publish(const stdfs::path& from, bool in_place, const std::string& collection = "default",
                const std::string& request_id = "") {
    PublishRequest r;
    r.source = from;
    r.metadata = metadata();
    r.visible_to = {"public"};
    r.in_place = in_place;
    r.collection = collection;
    r.request_id = request_id;
    return m_datasets->publish(r, user("alice"));
  }
  std::set<std::string> problems(const Entry& e) {
    std::set<std::string> out;
    for (const auto& p : m_datasets->verify(e.identifier, e.version, user("bob")).problems)
      out.insert(p.path + ": " + p.what);
    return out;
  }
  // The notification of `e` in the folder of `principal`, if any.
  std::optional<Json> record(const std::string& principal, const Entry& e) {
    const auto file = inbox() / CuratorInbox::folder(principal) /
                      (storage_name(e.identifier) + "-v" + std::to_string(e.version) + ".json");
    if (!stdfs::exists(file)) return std::nullopt;
    return Json::parse(fs::read_file(file));
  }

  beamflow::test::ScratchDir m_dir{"beamflow-publish-"};
  std::unique_ptr<Catalog> m_catalog;
  std::unique_ptr<Datasets> m_datasets;
};

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST_F(Publish, InPlaceRecordsTheDataWhereItIsAndVerifyReadsItThere) {
  const std::string odd = "odd name %20\n.txt";  // a space, a percent sign and a newline in one name
  const auto src = source("scan", {{"a.txt", "alpha"}, {"sub/b.bin", std::string(1000, 'b')}, {odd, "odd"}});
  const Entry e = publish(src, true);
  EXPECT_EQ(e.status, EntryStatus::Published);
  EXPECT_EQ(e.files, 3u);
  EXPECT_EQ(e.bytes, 5u + 1000u + 3u);
  EXPECT_EQ(e.content["in_place"]["source"], src.string());
  // No copy: the bag holds tag files and fetch.txt; the data stays put.
  const stdfs::path bag = e.location;
  EXPECT_TRUE(starts_with(bag.string(), (m_dir.path() / "storage").string())) << bag;
  EXPECT_FALSE(stdfs::exists(bag / "data"));
  for (const char* f : {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "fetch.txt"})
    EXPECT_TRUE(stdfs::exists(bag / f)) << f;
  EXPECT_EQ(fs::read_file(src / "a.txt"), "alpha");
  const std::string fetch = fs::read_file(bag / "fetch.txt");
  EXPECT_NE(fetch.find("file://" + src.string() + "/sub/b.bin 1000 data/sub/b.bin\n"), std::string::npos) << fetch;
  EXPECT_NE(fetch.find("odd%20name%20%2520%0A.txt 3 data/odd name %2520%0A.txt\n"), std::string::npos) << fetch;
  EXPECT_NE(fs::read_file(bag / "tagmanifest-sha256.txt").find("  fetch.txt\n"), std::string::npos);
  EXPECT_NE(fs::read_file(bag / "bag-info.txt").find("Source-Directory: " + src.string() + "\n"), std::string::npos);
  EXPECT_TRUE(problems(e).empty()) << *problems(e).begin();

  // A flipped byte where the data lives is found, named by its bag path.
  {
    std::fstream f(src / "sub/b.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('X');
  }
  auto found = problems(e);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(starts_with(*found.begin(), "data/sub/b.bin: sha256 mismatch")) << *found.begin();

  // A file removed from or added to the published directory.
  stdfs::remove(src / odd);
  std::ofstream(src / "sub/new.txt") << "new";
  found = problems(e);
  EXPECT_TRUE(found.count("data/" + odd + ": missing")) << found.size();
  bool added = false;
  for (const auto& p : found) added = added || starts_with(p, "data/sub/new.txt: not in the manifest");
  EXPECT_TRUE(added);
  EXPECT_TRUE(found.count("bag-info.txt: Payload-Oxum 1008.3 but the payload is 1005.3")) << found.size();

  // Changing fetch.txt to point elsewhere breaks the tag manifest.
  std::ofstream(bag / "fetch.txt", std::ios::app) << "file:///etc/hostname 1 data/x\n";
  EXPECT_TRUE(problems(e).count("fetch.txt: sha256 mismatch (tag file changed)"));
}

TEST_F(Publish, InPlaceOfOneFileIgnoresItsNeighboursAndMakesVersions) {
  const auto dir = source("files", {{"scan.raw", "v1 data"}, {"other.raw", "not published"}});
  const Entry v1 = publish(dir / "scan.raw", true);
  EXPECT_EQ(v1.files, 1u);
  EXPECT_EQ(fs::read_file(stdfs::path(v1.location) / "bag-info.txt").find("Source-Directory"), std::string::npos);
  std::ofstream(dir / "another.raw") << "x";  // a neighbour is no part of the dataset
  EXPECT_TRUE(problems(v1).empty());

  // The same place published again after a change: v2 verifies, v1 no longer does.
  std::ofstream(dir / "scan.raw", std::ios::trunc) << "v2 data!";
  PublishRequest r;
  r.source = dir / "scan.raw";
  r.metadata = metadata();
  r.visible_to = {"public"};
  r.in_place = true;
  r.identifier = v1.identifier;
  const Entry v2 = m_datasets->publish(r, user("alice"));
  EXPECT_EQ(v2.version, 2);
  EXPECT_NE(v2.location, v1.location);
  EXPECT_TRUE(problems(v2).empty());
  const auto old = problems(v1);
  EXPECT_TRUE(old.count("bag-info.txt: Payload-Oxum 7.1 but the payload is 8.1")) << old.size();
  bool mismatch = false;
  for (const auto& p : old) mismatch = mismatch || starts_with(p, "data/scan.raw: sha256 mismatch");
  EXPECT_TRUE(mismatch);

  // A copy (the default) of the same file is independent of later changes.
  const Entry copy = publish(dir / "scan.raw", false);
  EXPECT_TRUE(stdfs::exists(stdfs::path(copy.location) / "data/scan.raw"));
  EXPECT_FALSE(stdfs::exists(stdfs::path(copy.location) / "fetch.txt"));
  std::ofstream(dir / "scan.raw", std::ios::trunc) << "v3";
  EXPECT_TRUE(problems(copy).empty());
}

TEST_F(Publish, InPlaceRefusesWhatACopyRefuses) {
  const auto src = source("links", {{"a.txt", "a"}});
  stdfs::create_symlink(src / "a.txt", src / "link.txt");
  try {
    publish(src, true);
    FAIL() << "a symbolic link was published in place";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "dataset.source");
    EXPECT_NE(e.message().find("symbolic link"), std::string::npos) << e.message();
  }
  // Nothing recorded, nothing left in the storage but the staging folder.
  EXPECT_EQ(m_catalog->search(parse_query(Json::object()), kAdmin).total, 0);
  for (const auto& item : stdfs::directory_iterator(m_dir.path() / "storage")) {
    if (item.path().filename() != ".staging") {
      EXPECT_TRUE(stdfs::is_empty(item.path())) << item.path();
    }
  }
}

TEST_F(Publish, CuratorsAreNotifiedOfAVersionWaitingForThem) {
  m_datasets->put_collection({"mdf", Json(), true, {"group:curators", "user:dave"}}, kAdmin);
  const Entry e = publish(source("scan", {{"a", "1"}}), false, "mdf");
  ASSERT_EQ(e.status, EntryStatus::Pending);
  for (const char* curator : {"group:curators", "user:dave"}) {
    const auto r = record(curator, e);
    ASSERT_TRUE(r) << curator;
    EXPECT_EQ((*r)["kind"], "dataset.pending");
    EXPECT_EQ((*r)["status"], "pending");
    EXPECT_EQ((*r)["identifier"], e.identifier);
    EXPECT_EQ((*r)["version"], 1);
    EXPECT_EQ((*r)["collection"], "mdf");
    EXPECT_EQ((*r)["owner"], "alice");
    EXPECT_EQ((*r)["title"], "Steel fatigue tomography");
    EXPECT_EQ((*r)["approve"], "beamflow dataset approve '" + e.identifier + "' --version 1");
  }
  EXPECT_FALSE(record("user:alice", e));
  // Each curator reads its own inbox; others see nothing.
  ASSERT_EQ(CuratorInbox(inbox()).records(user("carol", {"curators"})).size(), 1u);
  EXPECT_EQ(CuratorInbox(inbox()).records(user("dave")).size(), 1u);
  EXPECT_TRUE(CuratorInbox(inbox()).records(user("bob", {"users"})).empty());

  // The decision is written into every curator's record.
  m_datasets->decide(e.identifier, 1, true, "looks right", user("carol", {"curators"}));
  for (const char* curator : {"group:curators", "user:dave"}) {
    const auto r = record(curator, e);
    ASSERT_TRUE(r) << curator;
    EXPECT_EQ((*r)["status"], "published");
    EXPECT_EQ((*r)["decided_by"], "carol");
    EXPECT_EQ((*r)["reason"], "looks right");
  }
  const Entry rejected = publish(source("scan2", {{"a", "2"}}), false, "mdf");
  m_datasets->decide(rejected.identifier, 1, false, "no sample name", user("dave"));
  EXPECT_EQ((*record("group:curators", rejected))["status"], "rejected");
  EXPECT_EQ((*record("group:curators", rejected))["reason"], "no sample name");
}

TEST_F(Publish, ANotificationLostToACrashIsSentAgainButNeverOverwritesADecision) {
  m_datasets->put_collection({"mdf", Json(), true, {"group:curators"}}, kAdmin);
  const auto src = source("scan", {{"a", "1"}});
  const Entry e = publish(src, false, "mdf", "request-1");
  // As if the process died between the commit and the notification.
  stdfs::remove_all(inbox());
  const Entry again = publish(src, false, "mdf", "request-1");  // the action's next poll, or a restart
  EXPECT_EQ(again.identifier, e.identifier);
  EXPECT_EQ(again.version, 1);
  ASSERT_TRUE(record("group:curators", e));
  EXPECT_EQ((*record("group:curators", e))["status"], "pending");

  m_datasets->decide(e.identifier, 1, true, "", user("carol", {"curators"}));
  publish(src, false, "mdf", "request-1");
  EXPECT_EQ((*record("group:curators", e))["status"], "published");
  // A pending version's record that a curator already has is left as it is.
  const Entry second = publish(src, false, "mdf", "request-2");
  auto r = *record("group:curators", second);
  r["seen"] = true;
  fs::write_file_atomic(inbox() / "group-curators" / (storage_name(second.identifier) + "-v1.json"), r.dump());
  publish(src, false, "mdf", "request-2");
  EXPECT_EQ((*record("group:curators", second))["seen"], true);
}

TEST_F(Publish, ANotificationThatCannotBeWrittenIsARetryableError) {
  m_datasets->put_collection({"mdf", Json(), true, {"group:curators"}}, kAdmin);
  std::ofstream(inbox()) << "a file where the inbox folder should be";
  const auto src = source("scan", {{"a", "1"}});
  try {
    publish(src, false, "mdf", "request-1");
    FAIL() << "the notification could not be written, yet publish succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "dataset.notify");
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(e.message().find("cannot record a curator notification"), std::string::npos) << e.message();
  }
  // The entry was recorded before; the retry sends the notification.
  stdfs::remove(inbox());
  const Entry e = publish(src, false, "mdf", "request-1");
  EXPECT_EQ(e.status, EntryStatus::Pending);
  EXPECT_TRUE(record("group:curators", e));
}

TEST_F(Publish, ACollectionWithoutCuratorsNotifiesTheAdministratorsAndAnOpenOneNoOne) {
  m_datasets->put_collection({"locked", Json(), true, {}}, kAdmin);
  const Entry e = publish(source("scan", {{"a", "1"}}), false, "locked");
  ASSERT_TRUE(record("admin", e));
  EXPECT_EQ(CuratorInbox(inbox()).records(kAdmin).size(), 1u);
  EXPECT_TRUE(CuratorInbox(inbox()).records(user("carol", {"curators"})).empty());
  publish(source("open", {{"a", "1"}}), false);  // the default collection needs no approval
  std::size_t records = 0;
  for (const auto& box : stdfs::directory_iterator(inbox()))
    if (box.is_directory()) records += static_cast<std::size_t>(std::distance(stdfs::directory_iterator(box), stdfs::directory_iterator()));
  EXPECT_EQ(records, 1u);
}

}  // namespace
}  // namespace beamflow::catalog::test
