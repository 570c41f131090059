// What a pilot directory handled outlives the runs' directories
// (intake_archive.hpp): once a submission's runs exist, the pilot moves it
// to accepted/archive/ after handled.ids covers its ids. A start then reads
// neither, so a run directory a user deleted does not make its submission
// run again, and a watcher still knows every id it ever handed over. Killed
// at any step of a pass, nothing is lost and nothing runs twice.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
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

// The names accepted/ holds (files only: archive/ is a folder), sorted.
std::vector<std::string> accepted_names(const fsys::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fsys::directory_iterator(dir / "accepted"))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The delta files of D (handled.ids.N), by name.
std::set<std::string> deltas(const fsys::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fsys::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("handled.ids.", 0) == 0) out.insert(name);
  }
  return out;
}

// Bounds under which a pass never folds: each adds a delta.
constexpr HandledFold kNeverFold{.max_deltas = 1000, .base_keys_per_delta_key = 0};
// And under which every pass folds.
constexpr HandledFold kAlwaysFold{.max_deltas = 1, .base_keys_per_delta_key = 0};

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
  const std::vector<std::string> names = accepted_names(dir);
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

// A pass under the fold's bounds adds its ids as a delta and leaves the
// base as it was (the same file: not rewritten); lookups see base and
// deltas; a fold writes a base holding them all and removes the deltas.
TEST(IntakeArchive, APassAddsADeltaAndLeavesTheBaseUntilAFold) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const Handled h = handle_everything(dir);
  const std::vector<std::string> names = accepted_names(dir);
  ASSERT_EQ(names.size(), 5u);
  EXPECT_TRUE(archive(dir, {names[0]}).empty());  // the first pass: a base
  EXPECT_TRUE(deltas(dir).empty());
  struct stat base {};
  ASSERT_EQ(::stat((dir / "handled.ids").c_str(), &base), 0);
  const std::size_t in_base = HandledIds(dir).size();
  for (std::size_t i = 1; i < 4; ++i) EXPECT_TRUE(archive(dir, {names[i]}, {}, kNeverFold).empty());
  EXPECT_EQ(deltas(dir), (std::set<std::string>{"handled.ids.1", "handled.ids.2", "handled.ids.3"}));
  struct stat after {};
  ASSERT_EQ(::stat((dir / "handled.ids").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, base.st_ino);
  EXPECT_EQ(after.st_size, base.st_size);
  {
    const HandledIds handled(dir);
    EXPECT_EQ(handled.base_end() - handled.base_begin(), static_cast<std::ptrdiff_t>(in_base));
    EXPECT_EQ(handled.last_delta(), 3u);
    EXPECT_EQ(handled.covered(), 0u);
    std::size_t known = 0;
    for (const auto& id : h.user) known += handled.contains(id);
    for (const auto& id : h.watcher) known += handled.contains(id);
    EXPECT_EQ(known, handled.size());
    EXPECT_FALSE(handled.contains(wid(99)));
  }
  // A watcher started now knows what the deltas hold.
  EXPECT_EQ(handed_again(dir, h), 0u);
  EXPECT_TRUE(archive(dir, {names[4]}, {}, kAlwaysFold).empty());
  EXPECT_TRUE(deltas(dir).empty());
  const HandledIds handled(dir);
  EXPECT_EQ(handled.size(), h.all());
  EXPECT_EQ(handled.covered(), 3u);
  EXPECT_EQ(handled.last_delta(), 3u);
  EXPECT_TRUE(handled.delta_keys().empty());
  EXPECT_EQ(handed_again(dir, h), 0u);
}

// A base from before deltas (format 1: a 16-byte header) is read as one
// that holds none, and the next pass replaces it with a current base, even
// under bounds that never fold: a binary from before deltas (it checks for
// format 1's magic) refuses that base instead of reading it without the
// deltas that follow. Then passes add deltas.
TEST(IntakeArchive, AFormat1BaseIsReadAndReplacedBeforeAnyDelta) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  const Handled h = handle_everything(dir);
  std::vector<HandledKey> old_keys;
  for (int i = 100; i < 110; ++i) old_keys.push_back(handled_key(wid(i)));
  std::sort(old_keys.begin(), old_keys.end());
  std::string v1 = "BFHANDL1";
  v1 += std::string("\x0a\0\0\0\0\0\0\0", 8);
  for (const auto& k : old_keys) v1.append(reinterpret_cast<const char*>(k.data()), k.size());
  std::ofstream(dir / "handled.ids", std::ios::binary) << v1;
  EXPECT_EQ(HandledIds(dir).size(), 10u);
  const std::vector<std::string> names = accepted_names(dir);
  ASSERT_EQ(names.size(), 5u);
  EXPECT_TRUE(archive(dir, {names[0], names[1], names[2]}, {}, kNeverFold).empty());
  EXPECT_TRUE(deltas(dir).empty());
  std::string magic(8, '\0');
  std::ifstream(dir / "handled.ids", std::ios::binary).read(magic.data(), 8);
  EXPECT_EQ(magic, "BFHANDL2");
  EXPECT_TRUE(archive(dir, {names[3], names[4]}, {}, kNeverFold).empty());
  EXPECT_EQ(deltas(dir), std::set<std::string>{"handled.ids.1"});
  const HandledIds handled(dir);
  EXPECT_TRUE(handled.takes_deltas());
  EXPECT_EQ(handled.size(), h.all() + 10);
  EXPECT_TRUE(handled.contains(wid(105)));
  EXPECT_TRUE(handled.contains(h.watcher.front()));
  EXPECT_EQ(handed_again(dir, h), 0u);
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

// So is a damaged delta: cut short, or holding another delta's number.
TEST(IntakeArchive, ADamagedDeltaIsRefused) {
  test::ScratchDir scratch;
  const fsys::path dir = scratch.path() / "pilot";
  handle_everything(dir);
  const std::vector<std::string> names = accepted_names(dir);
  EXPECT_TRUE(archive(dir, {names[0]}, {}, kNeverFold).empty());
  EXPECT_TRUE(deltas(dir).empty());  // no base yet: the first pass writes one, whatever the bounds
  EXPECT_TRUE(archive(dir, {names[1]}, {}, kNeverFold).empty());
  EXPECT_TRUE(archive(dir, {names[2]}, {}, kNeverFold).empty());
  ASSERT_EQ(deltas(dir).size(), 2u);
  const fsys::path one = dir / "handled.ids.1", two = dir / "handled.ids.2";
  const std::uintmax_t size = fsys::file_size(two);
  fsys::copy_file(one, dir / "saved");
  fsys::copy_file(two, one, fsys::copy_options::overwrite_existing);  // delta 2's header under 1's name
  for (const bool cut : {false, true}) {
    SCOPED_TRACE(cut ? "cut short" : "another's number");
    if (cut) {
      fsys::copy_file(dir / "saved", one, fsys::copy_options::overwrite_existing);
      fsys::resize_file(two, size - 1);
    }
    try {
      HandledIds handled(dir);
      ADD_FAILURE() << "a damaged delta was read";
    } catch (const Error& e) {
      EXPECT_EQ(e.id(), "pilot.handled.invalid");
    }
    EXPECT_THROW(BatchLedger{dir}, Error);
    EXPECT_THROW(archive(dir, {names[3]}, {}, kNeverFold), Error);
  }
}

// SIGKILL at each step of a pass over `complete` (the names archive()
// moves): afterwards every watcher id is known (none handed over again: no
// new batch in inbox/), the next start runs nothing (its runs exist), its
// own pass archives everything, and then with every run directory deleted
// a start still runs nothing.
void kill_the_pass_and_check(const fsys::path& dir, const Handled& h, const std::vector<std::string>& complete,
                             const HandledFold& fold, ArchiveStep point, int nth) {
  // The child runs the pass alone (no thread of the parent's is running).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int seen = 0;
    archive(
        dir, complete,
        [&](ArchiveStep s) {
          if (s == point && ++seen == nth) ::kill(::getpid(), SIGKILL);
        },
        fold);
    ::_exit(3);  // the step never came
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

  EXPECT_NO_THROW(HandledIds{dir});
  EXPECT_EQ(handed_again(dir, h), 0u);
  // The next start: what it would run (runs exist: nothing), and what its
  // pass archives.
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

std::string step_name(ArchiveStep point, int nth) {
  return "killed at step " + std::to_string(static_cast<int>(point)) + " #" + std::to_string(nth);
}

// The first pass of a directory (it writes the base): killed after the
// runs' sync, the ids written, renamed, synced, each move, the clean-up,
// the end.
TEST(IntakeArchive, APassKilledAtAnyStepLosesNothingAndRunsNothingTwice) {
  test::ScratchDir scratch;
  const std::vector<std::pair<ArchiveStep, int>> points = {
      {ArchiveStep::RunsSynced, 1}, {ArchiveStep::IdsWritten, 1}, {ArchiveStep::IdsRenamed, 1},
      {ArchiveStep::IdsDurable, 1}, {ArchiveStep::Moved, 1},      {ArchiveStep::Moved, 3},
      {ArchiveStep::Moved, 5},      {ArchiveStep::Cleaned, 1},    {ArchiveStep::Done, 1}};
  int n = 0;
  for (const auto& [point, nth] : points) {
    SCOPED_TRACE(step_name(point, nth));
    const fsys::path dir = scratch.path() / ("pilot-" + std::to_string(n++));
    const Handled h = handle_everything(dir);
    std::vector<std::string> complete;
    const auto has_run = [&](const std::string&) { return true; };
    EXPECT_TRUE(accepted_without_run(dir, has_run, &complete).ready.empty());
    ASSERT_EQ(complete.size(), 5u);
    kill_the_pass_and_check(dir, h, complete, {}, point, nth);
  }
}

// A pass that adds a delta beside a base, and one that folds three deltas
// into a new base (and removes them), each killed at each of its steps.
TEST(IntakeArchive, ADeltaOrAFoldKilledAtAnyStepLosesNothingAndRunsNothingTwice) {
  test::ScratchDir scratch;
  const std::vector<std::pair<ArchiveStep, int>> points = {
      {ArchiveStep::RunsSynced, 1}, {ArchiveStep::IdsWritten, 1}, {ArchiveStep::IdsRenamed, 1},
      {ArchiveStep::IdsDurable, 1}, {ArchiveStep::Moved, 1},      {ArchiveStep::Moved, 2},
      {ArchiveStep::Cleaned, 1},    {ArchiveStep::Done, 1}};
  int n = 0;
  for (const bool folding : {false, true}) {
    for (const auto& [point, nth] : points) {
      if (!folding && point == ArchiveStep::Cleaned) continue;  // a delta's pass removes nothing
      SCOPED_TRACE(std::string(folding ? "fold: " : "delta: ") + step_name(point, nth));
      const fsys::path dir = scratch.path() / ("pilot-" + std::to_string(n++));
      const Handled h = handle_everything(dir);
      const std::vector<std::string> names = accepted_names(dir);
      ASSERT_EQ(names.size(), 5u);
      if (folding) {  // a base and deltas 1..2
        for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(archive(dir, {names[i]}, {}, kNeverFold).empty());
        ASSERT_EQ(deltas(dir).size(), 2u);
      } else {  // a base
        ASSERT_TRUE(archive(dir, {names[0], names[1], names[2]}).empty());
        ASSERT_TRUE(deltas(dir).empty());
      }
      kill_the_pass_and_check(dir, h, {names[3], names[4]}, folding ? kAlwaysFold : kNeverFold, point, nth);
      if (folding) {
        EXPECT_EQ(HandledIds(dir).covered(), 2u);  // a base holding the 2 deltas
      }
    }
  }
}

}  // namespace
}  // namespace beamflow::pilot
