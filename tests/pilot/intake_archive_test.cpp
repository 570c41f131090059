// What a pilot directory handled outlives the runs' directories
// (intake_archive.hpp): once a submission's runs exist, the pilot moves it
// to accepted/archive/ after handled.ids covers its ids. A start then reads
// neither, so a run directory a user deleted does not make its submission
// run again, and a watcher still knows every id it ever handed over. Killed
// at any step of a pass, nothing is lost and nothing runs twice.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "../support/scratch_dir.hpp"
#include "intake_fixture.hpp"
#include "pilot/intake.hpp"
#include "pilot/intake_archive.hpp"
#include "pilot/intake_batch.hpp"

namespace beamflow::pilot {
namespace {

namespace fsys = std::filesystem;
using test_intake::count;
using test_intake::kFlow;
using test_intake::wid;

bool run_exists(const fsys::path& dir, const std::string& run_id) {
  return fsys::exists(dir / "runs" / run_id / "definition.json");
}

// A pilot directory whose submissions all ran: two submission files, a
// format 1 batch (ledger links) and two watcher batches (format 2), read by
// a reader, each run made (its definition.json), each accepted: all of it in
// accepted/, nothing archived yet. The ids, by kind.
struct Handled {
  std::vector<std::string> user, watcher;
  std::size_t all() const { return user.size() + watcher.size(); }
};
Handled handle_everything(const fsys::path& dir) {
  Handled h;
  std::vector<Submission> ready;
  {
    Intake intake(dir);
    for (const char* id : {"one", "two"}) {
      submit(dir, *kFlow, {{"id", id}}, id);
      h.user.push_back(id);
    }
    std::vector<Intake::Item> items;
    for (int i = 0; i < 5; ++i) {
      items.push_back({kFlow, {{"i", i}}, "file-" + std::to_string(i)});
      h.user.push_back("file-" + std::to_string(i));
    }
    intake.submit_batch_file(items);
    BatchLedger ledger(dir);
    for (int b = 0; b < 2; ++b) {
      std::vector<Intake::Item> w;
      for (int i = 0; i < 10; ++i) {
        w.push_back({kFlow, {{"w", b * 10 + i}}, wid(b * 10 + i)});
        h.watcher.push_back(wid(b * 10 + i));
      }
      ledger.submit(w);
    }
  }
  InboxReader reader(dir);
  const Pending p = reader.fresh();
  EXPECT_EQ(p.ready.size(), h.all());
  for (const auto& s : p.ready) {
    test_intake::make_run(dir, s.run_id);
    reader.accepted(s.submission_id);
  }
  EXPECT_EQ(count(dir / "inbox"), 0u);
  EXPECT_EQ(count(dir / "accepted", ".json") + count(dir / "accepted", ".batch"), 5u);
  return h;
}

// What the next pilot's start would run, each with its run directory gone
// (a user freed the space): accepted_without_run() of its runs (none left).
std::size_t started_after_runs_deleted(const fsys::path& dir) {
  fsys::remove_all(dir / "runs");
  fsys::create_directories(dir / "runs");
  return accepted_without_run(dir, [](const std::string&) { return false; }).ready.size();
}

// What a watcher started now would hand over again of `h` (each a new
// batch: its side effect in inbox/).
std::size_t handed_again(const fsys::path& dir, const Handled& h) {
  BatchLedger ledger(dir);
  std::size_t known = 0;
  std::vector<Intake::Item> again;
  for (const auto& id : h.watcher) {
    known += ledger.handed_over(id);
    again.push_back({kFlow, {{"again", true}}, id});
  }
  EXPECT_EQ(known, h.watcher.size());
  const std::size_t before = count(dir / "inbox");
  std::size_t fresh = 0;
  for (const auto& o : ledger.submit(again)) fresh += !o.existed;
  EXPECT_EQ(count(dir / "inbox"), before + (fresh ? 1 : 0));
  return fresh;
}

TEST(IntakeArchive, AnArchivedSubmissionIsKnownEverywhereAndRunsNoMoreWhenItsRunIsDeleted) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const Handled h = handle_everything(dir);
  {
    InboxReader reader(dir);
    const Pending p = reader.recover([&](const std::string&) { return true; });
    EXPECT_TRUE(p.ready.empty());
    reader.archive_now();
  }
  EXPECT_EQ(count(dir / "accepted"), 1u);  // archive/ alone
  EXPECT_EQ(count(dir / "accepted" / "archive"), 5u);
  const HandledIds handled(dir);
  EXPECT_EQ(handled.size(), h.all());
  for (const auto& id : h.user) EXPECT_TRUE(handled.contains(id)) << id;
  for (const auto& id : h.watcher) EXPECT_TRUE(handled.contains(id)) << id;
  EXPECT_FALSE(handled.contains(wid(99)));

  // Every lookup still finds them.
  EXPECT_EQ(list_submissions(dir).size(), h.all());
  for (const std::string& id : std::vector<std::string>{"one", "file-3", wid(13)}) {
    EXPECT_TRUE(is_submitted(dir, id)) << id;
    const auto s = find_submission(dir, id);
    ASSERT_TRUE(s) << id;
    EXPECT_EQ(s->submission_id, id);
  }
  EXPECT_FALSE(is_submitted(dir, wid(99)));
  Intake intake(dir);
  EXPECT_TRUE(intake.handed_over("two"));
  const auto again = intake.submit({{kFlow, {{"id", "two"}}, "two"}});
  EXPECT_TRUE(again[0].existed);
  EXPECT_EQ(again[0].run_id, find_submission(dir, "two")->run_id);
  EXPECT_EQ(handed_again(dir, h), 0u);
  EXPECT_EQ(count(dir / "inbox"), 0u);

  // The promise: the run directories deleted, a start runs none again.
  EXPECT_EQ(started_after_runs_deleted(dir), 0u);
  EXPECT_EQ(list_submissions(dir).size(), h.all());
}

// A second pass adds to handled.ids (nothing dropped), and one over names
// archived already is a no-op.
TEST(IntakeArchive, PassesAddToTheHandledIdsAndNeverDropOne) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const Handled h = handle_everything(dir);
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(dir / "accepted"))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  const std::vector<std::string> first(names.begin(), names.begin() + 2), rest(names.begin() + 2, names.end());
  EXPECT_TRUE(archive(dir, first).empty());
  const std::size_t after_first = HandledIds(dir).size();
  EXPECT_GT(after_first, 0u);
  EXPECT_LT(after_first, h.all());
  EXPECT_TRUE(archive(dir, rest).empty());
  EXPECT_TRUE(archive(dir, names).empty());  // all archived: skipped
  EXPECT_EQ(HandledIds(dir).size(), h.all());
  EXPECT_EQ(count(dir / "accepted" / "archive"), 5u);
}

// A damaged handled.ids stops a watcher (it could not tell a new id from
// an archived one) with its own error, and a pass with it moves nothing.
TEST(IntakeArchive, ADamagedHandledIdsIsRefused) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  prepare_pilot_dir(dir);
  std::ofstream(dir / "handled.ids") << "not a handled.ids file at all";
  EXPECT_THROW(HandledIds{dir}, Error);
  try {
    BatchLedger ledger(dir);
    ADD_FAILURE() << "a watcher started on a damaged handled.ids";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "pilot.handled.invalid");
  }
}

// SIGKILL at each step of a pass (after the runs' sync, the ids written,
// renamed, synced, each move, the end): afterwards every watcher id is
// known (none handed over again: no new batch in inbox/), the next start
// runs nothing (its runs exist), its own pass archives everything, and
// then with every run directory deleted a start still runs nothing.
TEST(IntakeArchive, APassKilledAtAnyStepLosesNothingAndRunsNothingTwice) {
  test::ScratchDir scratch;
  const std::vector<std::pair<ArchiveStep, int>> points = {
      {ArchiveStep::RunsSynced, 1}, {ArchiveStep::IdsWritten, 1}, {ArchiveStep::IdsRenamed, 1},
      {ArchiveStep::IdsDurable, 1}, {ArchiveStep::Moved, 1},      {ArchiveStep::Moved, 3},
      {ArchiveStep::Moved, 5},      {ArchiveStep::Done, 1}};
  int n = 0;
  for (const auto& [point, nth] : points) {
    SCOPED_TRACE("killed at step " + std::to_string(static_cast<int>(point)) + " #" + std::to_string(nth));
    const fsys::path dir = scratch.path() / ("pilot-" + std::to_string(n++));
    const Handled h = handle_everything(dir);
    std::vector<std::string> complete;
    const auto has_run = [&](const std::string&) { return true; };
    EXPECT_TRUE(accepted_without_run(dir, has_run, &complete).ready.empty());
    ASSERT_EQ(complete.size(), 5u);
    // The child runs the pass alone (no thread of the parent's is running).
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int seen = 0;
      archive(dir, complete, [&, point = point, nth = nth](ArchiveStep s) {
        if (s == point && ++seen == nth) ::kill(::getpid(), SIGKILL);
      });
      ::_exit(3);  // the step never came
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

    EXPECT_EQ(handed_again(dir, h), 0u);
    // The next start: what it would run (runs exist: nothing), and what
    // its pass archives.
    std::vector<std::string> left;
    const Pending next = accepted_without_run(
        dir, [&](const std::string& id) { return run_exists(dir, find_submission(dir, id)->run_id); }, &left);
    EXPECT_TRUE(next.ready.empty());
    EXPECT_TRUE(next.bad.empty());
    EXPECT_TRUE(archive(dir, left).empty());
    EXPECT_EQ(count(dir / "accepted"), 1u);
    EXPECT_EQ(count(dir / "accepted" / "archive"), 5u);
    EXPECT_EQ(HandledIds(dir).size(), h.all());
    EXPECT_EQ(started_after_runs_deleted(dir), 0u);
    EXPECT_EQ(handed_again(dir, h), 0u);
    std::set<std::string> ids;
    for (const auto& s : list_submissions(dir)) EXPECT_TRUE(ids.insert(s.submission_id).second) << s.submission_id;
    EXPECT_EQ(ids.size(), h.all());
  }
}

}  // namespace
}  // namespace beamflow::pilot
