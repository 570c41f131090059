// A damaged journal never replays wrongly (issue 9, section 1): every byte of
// a small run's journal flipped in turn is either cut as a torn tail (the run
// resumes to the same output) or refused with its offset; records with a
// valid CRC but wrong contents are typed errors; an edited definition, a
// dangling journal link or a FIFO are refused; one unreadable run never hides
// the others.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "../support/expect_error.hpp"
#include "core/hash.hpp"
#include "engine_support.hpp"
#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "run/paths.hpp"
#include "run/record.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

namespace stdfs = std::filesystem;
using test::ScratchDir;

const Json kFlow = Json::parse(R"({
  "StartAt": "One",
  "States": {
    "One": {"Type": "Pass", "Parameters": {"a.$": "$.x", "b": 2}, "Next": "Add"},
    "Add": {"Type": "Task", "Resource": "add", "ResultPath": "$.sum", "Next": "Fan"},
    "Fan": {"Type": "Parallel", "Branches": [
      {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "left", "End": true}}},
      {"StartAt": "R", "States": {"R": {"Type": "Pass", "Result": "right", "End": true}}}],
      "ResultPath": "$.fan", "End": true}
  }
})");

std::string read_all(const stdfs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
void write_all(const stdfs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class JournalDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = engine.start(kFlow, {{"x", 40}}, test::fast_options(scratch.path(), "full"));
    ASSERT_EQ(r.status, run::RunStatus::Succeeded) << r.error.cause;
    output = r.output;
    journal = read_all(run::run_dir(scratch.path(), "full") / "journal");
    history = run::read_history(run::run_dir(scratch.path(), "full") / "journal").events;
  }
  // A copy of the finished run, its journal replaced by `bytes`.
  stdfs::path copy_run(const std::string& id, const std::string& bytes) {
    const auto dir = run::run_dir(scratch.path(), id);
    stdfs::create_directories(dir);
    write_all(dir / "journal", bytes);
    return dir;
  }
  // The finished run's journal with one record appended (a valid CRC).
  std::string with_record(run::RecordType type, const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> bytes(journal.begin(), journal.end());
    // Drop RunEnded so the appended record is not after the end.
    const auto report = journal::parse_journal(bytes.data(), bytes.size(), "j");
    bytes.resize(report.records.back().offset);
    const std::size_t at = journal::format::append_record(bytes, static_cast<std::uint16_t>(type), payload.data(), payload.size());
    journal::format::seal_record(bytes.data() + at, journal::format::flag_first | journal::format::flag_last);
    return std::string(bytes.begin(), bytes.end());
  }

  ScratchDir scratch;
  run::Engine engine{test::builtin_registry()};
  Json output;
  std::string journal;
  std::vector<run::Event> history;
};

TEST_F(JournalDamage, EveryFlippedByteIsTornOrRefusedWithItsOffsetNeverADifferentHistory) {
  ASSERT_LT(journal.size(), 4096u) << "keep this journal small: one resume per byte";
  const auto records = journal::parse_journal(reinterpret_cast<const std::uint8_t*>(journal.data()), journal.size(), "j").records;
  std::size_t last_first = 0;  // index of the first record of the final commit
  for (std::size_t i = 0; i < records.size(); ++i)
    if (journal::format::load_u16(reinterpret_cast<const std::uint8_t*>(journal.data()) + records[i].offset + 14) &
        journal::format::flag_first)
      last_first = i;
  const std::uint64_t last_commit = records[last_first].offset;
  int torn = 0, refused = 0;
  for (std::size_t at = 0; at < journal.size(); ++at) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string bytes = journal;
    bytes[at] = static_cast<char>(bytes[at] ^ 0xFF);
    const std::string id = "flip" + std::to_string(at);
    const auto dir = copy_run(id, bytes);
    try {
      const auto r = engine.resume(id, test::fast_options(scratch.path()));
      // Only a flip in the final commit may be cut: the resumed run must
      // then reach the very same output.
      ASSERT_GE(at, last_commit);
      ASSERT_EQ(r.status, run::RunStatus::Succeeded);
      ASSERT_EQ(r.output, output);
      const auto replayed = run::read_history(dir / "journal").events;
      ASSERT_EQ(replayed.size(), history.size());
      for (std::size_t i = 0; i < last_first; ++i) ASSERT_EQ(replayed[i].body, history[i].body) << i;
      for (std::size_t i = last_first; i < history.size(); ++i) ASSERT_EQ(replayed[i].type, history[i].type) << i;
      ++torn;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (at < journal::format::header_size) {
        ASSERT_EQ(e.id(), "journal.header") << what;
      } else {
        ASSERT_EQ(e.id(), "journal.corrupt") << what;
        ASSERT_LT(at, last_commit);
        ASSERT_NE(what.find("run " + id + ": journal damaged at byte "), std::string::npos) << what;
        const auto offset = std::find_if(e.context().begin(), e.context().end(), [](const auto& kv) { return kv.first == "offset"; });
        ASSERT_NE(offset, e.context().end());
        ASSERT_LE(std::stoull(offset->second), at) << what;
        ASSERT_NE(what.find("record #"), std::string::npos) << what;
      }
      ASSERT_EQ(read_all(dir / "journal"), bytes) << "a refused journal is left as it was";
      ++refused;
    }
    stdfs::remove_all(dir);
  }
  EXPECT_GT(torn, 0);
  EXPECT_GT(refused, 0);
}

TEST_F(JournalDamage, ShowRefusesADamagedJournalToo) {
  std::string bytes = journal;
  bytes[journal::format::header_size + 20] ^= 0x01;  // inside RunStarted
  const auto dir = copy_run("damaged", bytes);
  test::expect_error([&] { run::read_history(dir / "journal"); }, "journal.corrupt",
                     {"run damaged: journal damaged at byte 16, record #1 (RunStarted)", "beamflow repair damaged",
                      "run_id=damaged", "offset=16"});
}

TEST_F(JournalDamage, AHugeChildCountIsATypedErrorNotAnAllocation) {
  // ChildrenStarted for the Parallel state with n = 2^40, CRC valid.
  const auto dir = copy_run("huge", journal);
  std::vector<std::uint8_t> bytes(journal.begin(), journal.end());
  const auto report = journal::parse_journal(bytes.data(), bytes.size(), "j");
  std::size_t cut = 0;
  for (const auto& r : report.records)
    if (r.type == static_cast<std::uint16_t>(run::RecordType::ChildrenStarted)) cut = r.offset;
  ASSERT_GT(cut, 0u);
  bytes.resize(cut);
  const auto payload = run::encode({run::RecordType::ChildrenStarted, {{"f", ""}, {"n", std::uint64_t{1} << 40}}});
  const std::size_t at = journal::format::append_record(bytes, 9, payload.data(), payload.size());
  journal::format::seal_record(bytes.data() + at, journal::format::flag_first | journal::format::flag_last);
  write_all(dir / "journal", std::string(bytes.begin(), bytes.end()));
  test::expect_error([&] { engine.resume("huge", test::fast_options(scratch.path())); }, "run.record",
                     {"ChildrenStarted record: field 'n' is 1099511627776, above the limit", "run_id=huge"});
  // A count within the limit that is not the Parallel's branch count is refused too.
  bytes.resize(cut);
  const auto three = run::encode({run::RecordType::ChildrenStarted, {{"f", ""}, {"n", 3}}});
  const std::size_t at3 = journal::format::append_record(bytes, 9, three.data(), three.size());
  journal::format::seal_record(bytes.data() + at3, journal::format::flag_first | journal::format::flag_last);
  write_all(dir / "journal", std::string(bytes.begin(), bytes.end()));
  test::expect_error([&] { engine.resume("huge", test::fast_options(scratch.path())); }, "run.replay",
                     {"children count 3 does not match state 'Fan'"});
}

TEST_F(JournalDamage, ANonStringStateNameIsATypedError) {
  const auto payload = run::encode({run::RecordType::StateEntered, {{"f", ""}, {"s", 5}, {"in", Json::object()}, {"t", 1}}});
  const auto dir = copy_run("nonstring", with_record(run::RecordType::StateEntered, payload));
  test::expect_error([&] { run::read_history(dir / "journal"); }, "run.record",
                     {"StateEntered record: field 's' must be a string", "run_id=nonstring"});
  test::expect_error([&] { engine.resume("nonstring", test::fast_options(scratch.path())); }, "run.record",
                     {"field 's' must be a string"});
}

TEST_F(JournalDamage, ADeepValueIsATypedErrorNotAStackOverflow) {
  auto payload = run::encode({run::RecordType::TaskSucceeded, {{"f", ""}, {"a", "x"}, {"out", "PLACEHOLDER"}}});
  const std::string marker = std::string(1, static_cast<char>(0x6B)) + "PLACEHOLDER";
  const std::string text(payload.begin(), payload.end());
  const auto pos = text.find(marker);
  ASSERT_NE(pos, std::string::npos);
  std::string deep(200000, static_cast<char>(0x81));  // 200,000 nested one-element arrays
  deep.push_back(0x00);
  const std::string crafted = text.substr(0, pos) + deep + text.substr(pos + marker.size());
  const auto dir = copy_run("deep", with_record(run::RecordType::TaskSucceeded, {crafted.begin(), crafted.end()}));
  test::expect_error([&] { run::read_history(dir / "journal"); }, "run.record", {"TaskSucceeded", "run_id=deep"});
}

TEST_F(JournalDamage, RecordsMustStartWithRunStarted) {
  std::vector<std::uint8_t> bytes(journal.begin(), journal.begin() + journal::format::header_size);
  const auto payload = run::encode({run::RecordType::RetryStarted, {{"f", ""}}});
  const std::size_t at = journal::format::append_record(bytes, 7, payload.data(), payload.size());
  journal::format::seal_record(bytes.data() + at, journal::format::flag_first | journal::format::flag_last);
  const auto dir = copy_run("headless", std::string(bytes.begin(), bytes.end()));
  test::expect_error([&] { run::read_history(dir / "journal"); }, "run.record",
                     {"the journal must begin with RunStarted, not RetryStarted", "index=1"});
}

TEST_F(JournalDamage, AnEditedDefinitionIsRefused) {
  // Cut the journal before RunEnded so there is something to resume.
  const auto records = journal::parse_journal(reinterpret_cast<const std::uint8_t*>(journal.data()), journal.size(), "j").records;
  const auto dir = copy_run("edited", journal.substr(0, records[3].offset));
  test::to_layout1(dir);  // layout 2 keeps the definition in the journal
  Json edited = kFlow;
  edited["States"]["One"]["Parameters"]["b"] = 3;
  write_all(dir / "definition.json", edited.dump());
  test::expect_error([&] { engine.resume("edited", test::fast_options(scratch.path())); }, "run.definition_changed",
                     {"definition.json was changed after the run started", "run_id=edited"});
  // The same definition, reformatted, is the same flow.
  write_all(dir / "definition.json", kFlow.dump(4));
  const auto r = engine.resume("edited", test::fast_options(scratch.path()));
  EXPECT_EQ(r.status, run::RunStatus::Succeeded);
  EXPECT_EQ(r.output, output);
}

TEST_F(JournalDamage, ADanglingJournalLinkSaysSo) {
  const auto dir = copy_run("dangling", journal);
  stdfs::remove(dir / "journal");
  stdfs::create_symlink(scratch.path() / "nowhere", dir / "journal");
  test::expect_error([&] { engine.resume("dangling", test::fast_options(scratch.path())); }, "journal.open",
                     {"symbolic link to a missing file", "nowhere"});
}

TEST_F(JournalDamage, AFifoInPlaceOfTheJournalIsRefusedWithoutHanging) {
  const auto dir = copy_run("fifo", journal);
  stdfs::remove(dir / "journal");
  ASSERT_EQ(::mkfifo((dir / "journal").c_str(), 0600), 0);
  test::expect_error([&] { engine.resume("fifo", test::fast_options(scratch.path())); }, "journal.open",
                     {"not a regular file"});
  test::expect_error([&] { run::read_history(dir / "journal"); }, "journal.open", {"not a regular file"});
}

TEST_F(JournalDamage, OneUnreadableRunNeverHidesTheOthers) {
  const auto lockdir = copy_run("lockdir", journal);
  write_all(lockdir / "status.json", R"({"status":"RUNNING","flow":"f","started":"x"})");
  stdfs::create_directory(lockdir / "lock");
  const auto fifo = copy_run("fifostatus", journal);
  ASSERT_EQ(::mkfifo((fifo / "status.json").c_str(), 0600), 0);
  const auto runs = run::list_runs(scratch.path());
  std::map<std::string, std::string> status;
  for (const auto& r : runs) status[r.run_id] = r.status;
  EXPECT_EQ(status["full"], "SUCCEEDED");
  EXPECT_EQ(status["lockdir"], "UNREADABLE");
  EXPECT_EQ(status["fifostatus"], "INTERRUPTED");
  for (const auto& r : runs) {
    if (r.run_id == "lockdir") {
      EXPECT_NE(r.error.dump().find("fs.lock"), std::string::npos) << r.error.dump();
    }
  }
}

}  // namespace
}  // namespace beamflow
