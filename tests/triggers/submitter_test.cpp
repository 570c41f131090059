// The submitter's hand-off in process (no threads: push() hands over on the
// caller's thread): what a batch holds for a file whose name JSON must
// escape, what a failed hand-off's log line names, and one watcher per
// pilot directory (its batch ledger's lock).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../support/expect_error.hpp"
#include "../support/scratch_dir.hpp"
#include "fixture.hpp"
#include "triggers/event.hpp"
#include "triggers/registration.hpp"
#include "triggers/submitter.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;

struct SubmitterTest : ::testing::Test {
  ScratchDir dir{"beamflow-submitter-"};
  fsys::path pilot = dir.path() / "pilot", drop = dir.path() / "drop";
  std::shared_ptr<triggers::Registration> r = std::make_shared<triggers::Registration>();
  std::shared_ptr<const Json> definition;
  std::vector<std::string> log;

  void SetUp() override {
    fsys::create_directories(drop);
    r->id = "logged";
    r->watch_dir = drop;
    r->pattern = "*";
    r->definition = Json{{"StartAt", "A"}, {"States", {{"A", {{"Type", "Succeed"}}}}}};
    r->input_template = Json{{"file", "{{path}}"}, {"name", "{{name}}"}};
    definition = std::make_shared<const Json>(r->definition);
  }
  triggers::Submitter::Job job(const fsys::path& file) const {
    triggers::Submitter::Job j;
    j.definition = definition;
    j.registration = r;
    j.file = file.string();
    return j;
  }
};

// The batch's line is serialized into the batch's text: a name with a quote,
// a backslash, a tab and non-ASCII letters reads back as it was.
TEST_F(SubmitterTest, AFileWhoseNameJsonEscapesIsReadBackAsItWas) {
  const fsys::path file = drop / "scan \"7\" \\ \t\xc3\xa9t\xc3\xa9.h5";
  write_text(file, "x");
  triggers::Submitter s(pilot, 0, [&](const std::string& line) { log.push_back(line); });
  std::vector<triggers::Submitter::Job> jobs;
  jobs.push_back(job(file));
  s.push(std::move(jobs));
  EXPECT_TRUE(log.empty()) << log.front();
  EXPECT_EQ(s.submitted.load(), 1u);
  const auto subs = submissions(pilot);
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0]["input"]["file"], file.string());
  EXPECT_EQ(subs[0]["input"]["name"], file.filename().string());
}

// A file event's log text is made only when a line is written: it must still
// name the file and its registration.
TEST_F(SubmitterTest, AFailedHandOffsLogLineNamesTheFileAndItsRegistration) {
  const fsys::path file = drop / "scan_0001.h5";
  write_text(file, "x");
  triggers::Submitter s(pilot, 0, [&](const std::string& line) { log.push_back(line); });
  fsys::remove_all(pilot / "inbox");  // the submitter's inbox/ is gone: no batch can be written there
  std::vector<triggers::Submitter::Job> jobs;
  jobs.push_back(job(file));
  s.push(std::move(jobs));
  EXPECT_EQ(s.errors.load(), 1u);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find(file.string() + " (registration logged)"), std::string::npos) << log[0];
}

// The batch ledger knows what was handed over from memory, so a second
// watcher on one pilot directory (a process, or a pilot hosting one) is
// refused while the first runs; the next one knows the first's hand-offs.
TEST_F(SubmitterTest, ASecondWatcherOnOnePilotDirectoryIsRefusedAndTheNextKnowsTheFirstsHandOffs) {
  const fsys::path file = drop / "scan_0001.h5";
  write_text(file, "x");
  std::string id;
  {
    triggers::Submitter s(pilot, 0, [&](const std::string& line) { log.push_back(line); });
    std::vector<triggers::Submitter::Job> jobs;
    jobs.push_back(job(file));
    s.push(std::move(jobs));
    ASSERT_EQ(s.submitted.load(), 1u);
    id = submissions(pilot).at(0)["submission_id"].get<std::string>();
    // The watcher's ids are in the namespace the other hand-offs refuse.
    EXPECT_TRUE(pilot::is_watcher_id(id)) << id;
    EXPECT_TRUE(pilot::is_watcher_id(triggers::timer_submission_id(*r, 1733480000000)));
    expect_error([&] { triggers::Submitter(pilot, 0, {}); }, "pilot.ledger.locked", {"watcher.lock"});
    const auto other = beamflow({"trigger", "watch", "--pilot", pilot.string(), "--once", "--json"});
    EXPECT_NE(other.exit_code, 0);
    EXPECT_NE((other.out + other.err).find("pilot.ledger.locked"), std::string::npos) << other.out << other.err;
  }
  triggers::Submitter next(pilot, 0, {});
  EXPECT_TRUE(next.handed_over(id));
  EXPECT_TRUE(log.empty()) << log.front();
}

}  // namespace
}  // namespace beamflow::test
