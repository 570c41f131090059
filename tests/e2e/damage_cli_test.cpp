// A damaged or unreadable run through the binary (issue 9, section 1):
// `resume` and `show` exit 1 naming the run, the byte offset and the record;
// `repair` says what it would drop, changes nothing without --yes, cuts with
// it, and the run then resumes to SUCCEEDED with each command run once;
// `runs` lists every run even when one has a lock that is a directory; a FIFO
// journal is refused without hanging.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

namespace stdfs = std::filesystem;

Json parse_or_empty(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json::object() : j;
}

class DamageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir.write("in.json", Json{{"file", (dir.path() / "lines.txt").string()}, {"pause", 0}}.dump());
    const ProcessResult r = run_beamflow({"run", source_dir() + "/configs/flows/append_twice.json", "--input", "in.json",
                                          "--run-id", "r", "--runs-dir", "runs", "--json"},
                                         dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    journal_file = dir.path() / "runs" / "r" / "journal";
  }
  TempDir dir;
  stdfs::path journal_file;
};

TEST_F(DamageCli, ResumeAndShowRefuseRepairCutsAndTheRunResumes) {
  // Damage the fourth record: whole commits follow it. Records start with
  // the sync marker "BFJR" (engine/journal/journal.hpp) after a 16-byte header.
  std::string bytes = slurp(journal_file);
  std::vector<std::uint64_t> starts;
  for (auto pos = bytes.find("BFJR", 16); pos != std::string::npos; pos = bytes.find("BFJR", pos + 1)) starts.push_back(pos);
  ASSERT_GT(starts.size(), 6u);
  const std::uint64_t fourth = starts[3];
  const std::uint64_t at = fourth + 20;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
  std::ofstream(journal_file, std::ios::binary | std::ios::trunc) << bytes;

  const ProcessResult resumed = run_beamflow({"resume", "r", "--runs-dir", "runs", "--json"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 1) << resumed.out << resumed.err;
  const Json doc = parse_or_empty(resumed.out);
  EXPECT_EQ(doc.value("error", ""), "journal.corrupt") << resumed.out;
  const std::string cause = doc.value("cause", "");
  EXPECT_NE(cause.find("run r: journal damaged at byte " + std::to_string(fourth) + ", record #4"),
            std::string::npos)
      << cause;
  const ProcessResult shown = run_beamflow({"show", "r", "--runs-dir", "runs"}, dir.path());
  EXPECT_EQ(shown.exit_code, 1) << shown.out << shown.err;
  EXPECT_NE((shown.out + shown.err).find("journal.corrupt"), std::string::npos) << shown.out << shown.err;

  // Without --yes nothing changes.
  const ProcessResult dry = run_beamflow({"repair", "r", "--runs-dir", "runs"}, dir.path());
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("damaged at byte " + std::to_string(fourth)), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("RunEnded"), std::string::npos) << "the dropped records are listed: " << dry.out;
  EXPECT_NE(dry.out.find("nothing was changed"), std::string::npos) << dry.out;
  EXPECT_EQ(slurp(journal_file), bytes);
  const Json plan = parse_or_empty(run_beamflow({"repair", "r", "--runs-dir", "runs", "--json"}, dir.path()).out);
  EXPECT_EQ(plan.value("needed", false), true) << plan.dump();
  EXPECT_EQ(plan.value("keep_bytes", std::uint64_t{0}), fourth) << plan.dump();

  const ProcessResult cut = run_beamflow({"repair", "r", "--runs-dir", "runs", "--yes"}, dir.path());
  EXPECT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  EXPECT_EQ(stdfs::file_size(journal_file), fourth);
  const ProcessResult again = run_beamflow({"resume", "r", "--runs-dir", "runs", "--json"}, dir.path());
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(parse_or_empty(again.out).value("status", ""), "SUCCEEDED") << again.out;
  EXPECT_EQ(slurp(dir.path() / "lines.txt"), "first\nsecond\n") << "each command ran once";
}

TEST_F(DamageCli, OneUnreadableRunNeverBreaksRunsAndAFifoNeverHangs) {
  const auto other = dir.path() / "runs" / "broken";
  stdfs::create_directories(other);
  std::ofstream(other / "status.json") << R"({"status":"RUNNING","flow":"f","started":"2026"})";
  stdfs::create_directory(other / "lock");
  ASSERT_EQ(::mkfifo((other / "journal").c_str(), 0600), 0);
  const ProcessResult listed = run_beamflow({"runs", "--runs-dir", "runs", "--json"}, dir.path());
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  const Json runs = parse_or_empty(listed.out);
  ASSERT_TRUE(runs.is_array()) << listed.out;
  ASSERT_EQ(runs.size(), 2u) << listed.out;
  std::map<std::string, std::string> status;
  for (const auto& r : runs) status[r.value("run_id", "")] = r.value("status", "");
  EXPECT_EQ(status["r"], "SUCCEEDED");
  EXPECT_EQ(status["broken"], "UNREADABLE");

  stdfs::remove(other / "lock");
  const ProcessResult shown = run_beamflow({"show", "broken", "--runs-dir", "runs"}, dir.path());
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_NE(shown.err.find("not a regular file"), std::string::npos) << shown.err;
  const ProcessResult resumed = run_beamflow({"resume", "broken", "--runs-dir", "runs", "--json"}, dir.path());
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.out.find("not a regular file"), std::string::npos) << resumed.out;
}

}  // namespace
}  // namespace beamflow::test
