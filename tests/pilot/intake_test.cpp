// The pilot directory hand-off: idempotent by submission id, one winner when
// many processes race with one id, none lost when they race with many,
// owner-only and refused when unsafe, bad files reported without stopping
// the others.
#include "pilot/intake.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>

#include "../support/expect_error.hpp"
#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"

namespace beamflow::pilot {
namespace {

namespace fsys = std::filesystem;

const Json kFlow = {{"StartAt", "P"}, {"States", {{"P", {{"Type", "Pass"}, {"End", true}}}}}};

int count(const fsys::path& dir) {
  int n = 0;
  for (const auto& e : fsys::directory_iterator(dir)) n += e.path().extension() == ".json";
  return n;
}

TEST(Intake, SubmitReturnsARunIdAndTheSameIdGivesTheSameRun) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const SubmitResult a = submit(dir, kFlow, {{"x", 1}}, "job-1");
  EXPECT_FALSE(a.existed);
  EXPECT_FALSE(a.run_id.empty());
  const SubmitResult b = submit(dir, kFlow, {{"x", 1}}, "job-1");
  EXPECT_TRUE(b.existed);
  EXPECT_EQ(b.run_id, a.run_id);
  EXPECT_EQ(count(dir / "inbox"), 1);
  // After the pilot accepted it, still the same answer.
  mark_accepted(dir, "job-1");
  EXPECT_EQ(submit(dir, kFlow, {{"x", 1}}, "job-1").run_id, a.run_id);
  EXPECT_EQ(count(dir / "inbox"), 0);
  EXPECT_EQ(count(dir / "accepted"), 1);
  // Fresh ids when none is given.
  EXPECT_NE(submit(dir, kFlow, {{"x", 1}}).run_id, submit(dir, kFlow, {{"x", 1}}).run_id);
}

// A lister that read inbox/ just before a pilot moved a submission to
// accepted/ meets it in both: it is one submission. The moment is played by
// a copy in both directories (a triggers test counted 4 of 3 under load).
TEST(Intake, ASubmissionMetInInboxAndAcceptedIsListedOnce) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  submit(dir, kFlow, {{"x", 1}}, "job-1");
  submit(dir, kFlow, {{"x", 2}}, "job-2");
  fsys::create_directories(dir / "accepted");
  fsys::copy_file(dir / "inbox" / "job-1.json", dir / "accepted" / "job-1.json");
  const auto listed = list_submissions(dir);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_NE(listed[0].submission_id, listed[1].submission_id);
}

// A damaged file in inbox/ or accepted/ is list_submissions()'s error, and
// list_readable() names it and lists the rest (a client's lookup, a pilot
// at its start, must see past it); Folders::Accepted leaves inbox/ out.
TEST(Intake, ListReadableNamesADamagedFileAndListsTheRest) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  submit(dir, kFlow, {{"x", 1}}, "job-1");
  submit(dir, kFlow, {{"x", 2}}, "job-2");
  mark_accepted(dir, "job-2");
  std::ofstream(dir / "accepted" / "broken.json") << "{ not json";
  test::expect_error([&] { list_submissions(dir); }, "pilot.submission.invalid", {"broken.json"});
  const Pending all = list_readable(dir);
  std::set<std::string> ids;
  for (const auto& s : all.ready) ids.insert(s.submission_id);
  EXPECT_EQ(ids, (std::set<std::string>{"job-1", "job-2"}));
  ASSERT_EQ(all.bad.size(), 1u);
  EXPECT_EQ(all.bad[0].rfind("accepted/broken.json: ", 0), 0u) << all.bad[0];
  const Pending accepted = list_readable(dir, Folders::Accepted);
  ASSERT_EQ(accepted.ready.size(), 1u);
  EXPECT_EQ(accepted.ready[0].submission_id, "job-2");
  EXPECT_EQ(accepted.bad, all.bad);
}

// A pilot at its start reads in accepted/ only what may lack its run
// (accepted_without_run): a submission file or a batch whose ids all have
// their run is left unread, even damaged; a batch with one id without its
// run is read, and only that entry listed.
TEST(Intake, AcceptedWithoutRunReadsOnlyWhatMayLackItsRun) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  submit(dir, kFlow, {{"x", 1}}, "job-1");
  submit(dir, kFlow, {{"x", 2}}, "job-2");
  mark_accepted(dir, "job-1");
  mark_accepted(dir, "job-2");
  Intake intake(dir);
  const auto flow = std::make_shared<const Json>(kFlow);
  intake.submit_batch_file({{flow, {{"b", 1}}, "b-1"}, {flow, {{"b", 2}}, "b-2"}});
  intake.submit_batch_file({{flow, {{"c", 1}}, "c-1"}});
  for (const auto& e : fsys::directory_iterator(dir / "inbox"))
    fsys::rename(e.path(), dir / "accepted" / e.path().filename());
  // Damaged in place (a ledger entry is a hard link to its batch): only a read would notice.
  std::ofstream(dir / "accepted" / "job-1.json") << "{ not json";
  std::ofstream(dir / "ledger" / "c-1") << "not a batch";
  ASSERT_EQ(list_readable(dir, Folders::Accepted).bad.size(), 2u);
  const std::set<std::string> with_run = {"job-1", "b-1", "c-1"};
  const Pending p = accepted_without_run(dir, [&](const std::string& id) { return with_run.count(id) > 0; });
  std::set<std::string> ids;
  for (const auto& s : p.ready) ids.insert(s.submission_id);
  EXPECT_EQ(ids, (std::set<std::string>{"job-2", "b-2"}));
  EXPECT_TRUE(p.bad.empty()) << p.bad.front();
}

TEST(Intake, AReusedIdWithOtherContentIsRefused) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  submit(dir, kFlow, {{"x", 1}}, "job-1");
  test::expect_error([&] { submit(dir, kFlow, {{"x", 2}}, "job-1"); }, "pilot.submission.conflict", {"job-1"});
  for (const std::string& bad : std::vector<std::string>{".hidden", "a/b", "../x", std::string(129, 'a'), "sp ace"})
    test::expect_error([&] { submit(dir, kFlow, {}, bad); }, "pilot.submission.id", {"submission id"});
}

// 8 processes x 25 submissions, half of them racing on shared ids.
TEST(Intake, ConcurrentSubmittersLoseNothingAndDuplicateNothing) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  prepare_pilot_dir(dir);
  const int procs = 8, each = 25;
  std::vector<test::Process> children;
  for (int p = 0; p < procs; ++p) {
    children.push_back(test::Process::fork([&, p] {
      std::ofstream out(scratch.path() / ("ids." + std::to_string(p)));
      for (int i = 0; i < each; ++i) {
        // Even i: a shared id every process submits; odd i: a private one.
        const std::string id =
            (i % 2 == 0) ? "shared-" + std::to_string(i) : "p" + std::to_string(p) + "-" + std::to_string(i);
        out << id << " " << submit(dir, kFlow, {{"i", i}}, id).run_id << "\n";
      }
      return 0;
    }));
  }
  for (auto& child : children) ASSERT_EQ(child.wait().exit_code, 0);
  const int shared = (each + 1) / 2, priv = each / 2;
  EXPECT_EQ(count(dir / "inbox"), shared + procs * priv);
  // Every process got the same run id for a shared submission id.
  std::map<std::string, std::set<std::string>> runs_of;
  for (int p = 0; p < procs; ++p) {
    std::ifstream in(scratch.path() / ("ids." + std::to_string(p)));
    std::string id, run;
    while (in >> id >> run) runs_of[id].insert(run);
  }
  EXPECT_EQ(runs_of.size(), static_cast<std::size_t>(shared + procs * priv));
  for (const auto& [id, set] : runs_of) EXPECT_EQ(set.size(), 1u) << id;
  // No temporary left behind.
  for (const auto& e : fsys::directory_iterator(dir / "inbox"))
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
}

TEST(Intake, PendingIsOldestFirstAndReportsBadFilesWithoutStopping) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  submit(dir, kFlow, {}, "first");
  submit(dir, kFlow, {}, "second");
  std::ofstream(dir / "inbox" / "broken.json") << "{ not json";
  std::ofstream(dir / "inbox" / "other.json") << Json{{"submission_id", "mismatch"}}.dump();
  const Pending p = pending(dir);
  ASSERT_EQ(p.ready.size(), 2u);
  EXPECT_EQ(p.ready[0].submission_id, "first");
  EXPECT_EQ(p.ready[1].submission_id, "second");
  ASSERT_EQ(p.bad.size(), 2u);
  EXPECT_NE(p.bad[0].find("inbox/broken.json"), std::string::npos) << p.bad[0];
  EXPECT_NE(p.bad[1].find("inbox/other.json"), std::string::npos) << p.bad[1];
}

TEST(Intake, TheDirectoryIsOwnerOnlyAndAnUnsafeOneIsRefused) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const mode_t old = ::umask(0);  // whatever the umask, 0700
  prepare_pilot_dir(dir);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ::chmod(dir.c_str(), 0770);
  test::expect_error([&] { submit(dir, kFlow, {}); }, "pilot.dir.unsafe", {"other users can write"});
  ::chmod(dir.c_str(), 0700);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);  // nobody's directory
    test::expect_error([&] { submit(dir, kFlow, {}); }, "pilot.dir.unsafe", {"belongs to uid 65534"});
  }
}

}  // namespace
}  // namespace beamflow::pilot
