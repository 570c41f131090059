// Crash at every transition: a run's journal cut after any number of records
// (and mid-record) resumes to the output of the uninterrupted run.
#include <gtest/gtest.h>

#include <fstream>

#include "../support/expect_error.hpp"
#include "engine_support.hpp"
#include "journal/journal.hpp"
#include "run/paths.hpp"
#include "run/record.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

using test::ScratchDir;

const Json kFlow = Json::parse(R"({
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Parameters": {"items.$": "$.items", "label": "x"}, "Next": "Fan"},
    "Fan": {
      "Type": "Parallel",
      "ResultPath": "$.branches",
      "Branches": [
        {"StartAt": "Sum", "States": {
          "Sum": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                  "ItemSelector": {"a.$": "$$.Map.Item.Value", "b.$": "$$.Map.Item.Index"},
                  "ItemProcessor": {"StartAt": "Add", "States": {
                    "Add": {"Type": "Task", "Resource": "add", "Next": "Check"},
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 4, "Next": "Big"}], "Default": "Small"},
                    "Big": {"Type": "Pass", "Result": "big", "End": true},
                    "Small": {"Type": "Pass", "Result": "small", "End": true}}},
                  "End": true}}},
        {"StartAt": "Oops", "States": {
          "Oops": {"Type": "Task", "Resource": "fail", "Parameters": {"Error": "Custom.Error", "Cause": "on purpose"},
                   "Catch": [{"ErrorEquals": ["Custom.Error"], "ResultPath": "$.caught", "Next": "Recovered"}], "End": true},
          "Recovered": {"Type": "Pass", "OutputPath": "$.caught", "End": true}}}
      ],
      "Next": "Done"
    },
    "Done": {"Type": "Pass", "OutputPath": "$.branches", "End": true}
  }
})");

TEST(Replay, EveryPrefixOfTheJournalResumesToTheSameOutput) {
  ScratchDir scratch;
  const Json input = {{"items", {1, 2, 3, 4}}};
  run::Engine engine(test::builtin_registry());
  const auto full = engine.start(kFlow, input, test::fast_options(scratch.path(), "full"));
  ASSERT_EQ(full.status, run::RunStatus::Succeeded) << full.error.error << ": " << full.error.cause;
  const Json expected = Json::parse(R"([["small","small","big","big"],{"Error":"Custom.Error","Cause":"on purpose"}])");
  ASSERT_EQ(full.output, expected);

  // The same run as beamflow wrote it before layout 2 (run_store.hpp):
  // definition.json and input.json beside the journal.
  const auto old_dir = run::run_dir(scratch.path(), "old");
  std::filesystem::create_directories(old_dir);
  std::filesystem::copy_file(run::run_dir(scratch.path(), "full") / "journal", old_dir / "journal");
  test::to_layout1(old_dir);
  // And layout 2 as written before the compact records (record.hpp).
  const auto cbor_dir = run::run_dir(scratch.path(), "cbor");
  std::filesystem::create_directories(cbor_dir);
  std::filesystem::copy_file(run::run_dir(scratch.path(), "full") / "journal", cbor_dir / "journal");
  test::to_cbor_records(cbor_dir);

  int n = 0;
  for (const std::string source : {"full", "old", "cbor"}) {
    SCOPED_TRACE(source == "old" ? "layout 1" : source == "cbor" ? "layout 2, CBOR records" : "layout 2");
    const auto journal_file = run::run_dir(scratch.path(), source) / "journal";
    const auto report = journal::read_journal(journal_file);
    ASSERT_GT(report.records.size(), 20u);
    // Every record of the four kinds (FrameEnded: of a frame that succeeded)
    // is compact as written now, none in the older forms.
    std::size_t kinds = 0, compact = 0, ended = 0;
    for (const auto& r : report.records) {
      const auto type = static_cast<run::RecordType>(r.type);
      if (type == run::RecordType::TaskScheduled || type == run::RecordType::TaskSucceeded ||
          type == run::RecordType::StateEntered ||
          (type == run::RecordType::FrameEnded && run::decode(r.type, r.payload).body.at("ok") == true)) {
        ++kinds;
        compact += r.payload.at(0) == 0x01;
        ended += type == run::RecordType::FrameEnded;
      }
    }
    EXPECT_GT(ended, 4u);  // the Map's items and the branches
    EXPECT_EQ(compact, source == "full" ? kinds : 0u);
    std::ifstream in(journal_file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    // Layout 2: the run exists once its first commit (RunStarted, the first
    // StateEntered and what stepping it decided) is whole; a cut inside it
    // is a creation cut short.
    const std::uint64_t created_at = source == "old" ? 0 : test::journal_commits(journal_file).front().end;

    // Cut points: every record boundary, and a few bytes into each record.
    std::vector<std::uint64_t> cuts;
    for (const auto& r : report.records) {
      cuts.push_back(r.offset);
      cuts.push_back(r.offset + 7);
    }
    cuts.push_back(bytes.size());
    for (std::uint64_t cut : cuts) {
      const std::string id = "cut" + std::to_string(n++);
      const auto dir = run::run_dir(scratch.path(), id);
      std::filesystem::create_directories(dir);
      if (source == "old")
        for (const char* f : {"definition.json", "input.json"}) std::filesystem::copy_file(old_dir / f, dir / f);
      std::ofstream(dir / "journal", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
      run::RunResult again;
      if (cut < created_at) {
        // Never acted on: not a run, and starting it again takes it over.
        EXPECT_FALSE(run::RunDirectory::exists(scratch.path(), id)) << "cut at byte " << cut;
        again = engine.start(kFlow, input, test::fast_options(scratch.path(), id));
      } else {
        ASSERT_TRUE(run::RunDirectory::exists(scratch.path(), id)) << "cut at byte " << cut;
        again = engine.resume(id, test::fast_options(scratch.path()));
      }
      ASSERT_EQ(again.status, run::RunStatus::Succeeded) << "cut at byte " << cut << ": " << again.error.cause;
      EXPECT_EQ(again.output, expected) << "cut at byte " << cut;
    }
  }
}

// A journal no writer leaves: the run's records each sealed as its own
// commit (a hand-made or foreign file), so that a prefix can end between
// records one commit writes together. Cut after ChildrenStarted of the
// Parallel, the run would wait forever for branches nobody enters; resuming
// any prefix must instead finish to the same output or fail with
// run.replay naming the journal and the offset, and leave the journal as
// it was (session 14 saw the driver hang there).
TEST(Replay, APrefixNoWriterLeavesResumesOrFailsNamingTheJournalAndOffset) {
  ScratchDir scratch;
  const Json input = {{"items", {1, 2, 3, 4}}};
  run::Engine engine(test::builtin_registry());
  const auto full = engine.start(kFlow, input, test::fast_options(scratch.path(), "full"));
  ASSERT_EQ(full.status, run::RunStatus::Succeeded);
  const auto records = journal::read_journal(run::run_dir(scratch.path(), "full") / "journal").records;
  // Fan's ChildrenStarted (2 branches; the Map's says 4 items, which the
  // Map enters again itself), followed in its commit by both branches'
  // StateEntered.
  std::size_t fan = 0;
  while (fan < records.size() &&
         !(records[fan].type == static_cast<std::uint16_t>(run::RecordType::ChildrenStarted) &&
           run::decode(records[fan].type, records[fan].payload).body.at("n") == 2))
    ++fan;
  ASSERT_LT(fan + 2, records.size());
  for (const std::size_t i : {fan + 1, fan + 2})
    ASSERT_EQ(records[i].type, static_cast<std::uint16_t>(run::RecordType::StateEntered));
  std::size_t refused = 0;
  for (std::size_t keep = 3; keep <= records.size(); ++keep) {
    const std::string id = "k" + std::to_string(keep);
    const auto file = run::run_dir(scratch.path(), id) / "journal";
    std::filesystem::create_directories(file.parent_path());
    journal::rewrite_journal(file, {records.begin(), records.begin() + static_cast<std::ptrdiff_t>(keep)},
                             journal::Durability::None);
    const auto before = journal::read_journal(file);
    // Cut after Fan's ChildrenStarted or its first branch's StateEntered.
    const bool cut_in_fan = keep > fan && keep <= fan + 2;
    try {
      const auto again = engine.resume(id, test::fast_options(scratch.path()));
      EXPECT_FALSE(cut_in_fan) << "keep " << keep;
      EXPECT_EQ(again.status, run::RunStatus::Succeeded) << "keep " << keep << ": " << again.error.cause;
      EXPECT_EQ(again.output, full.output) << "keep " << keep;
    } catch (const Error& e) {
      ++refused;
      EXPECT_TRUE(cut_in_fan) << "keep " << keep << ": " << e.what();
      EXPECT_EQ(e.id(), "run.replay") << e.what();
      EXPECT_NE(std::string(e.what()).find("file=" + file.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("offset=" + std::to_string(before.valid_end)), std::string::npos)
          << e.what();
      const auto after = journal::read_journal(file);
      EXPECT_EQ(after.file_size, before.file_size) << "keep " << keep;
      EXPECT_EQ(after.records.size(), keep);
    }
  }
  EXPECT_EQ(refused, 2u);
}

TEST(Replay, FinishedRunResumesToItsRecordedResult) {
  ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"fail","Parameters":{"Error":"E","Cause":"c"},"End":true}}})");
  const auto first = engine.start(flow, Json::object(), test::fast_options(scratch.path(), "r1"));
  ASSERT_EQ(first.status, run::RunStatus::Failed);
  const auto again = engine.resume("r1", test::fast_options(scratch.path()));
  EXPECT_EQ(again.status, run::RunStatus::Failed);
  EXPECT_EQ(again.error, (FlowError{"E", "c"}));
}

TEST(Replay, ARecordEncodedIntoAReusedBufferHasTheBytesOfEncode) {
  // The driver encodes every record into one buffer it keeps: what it holds
  // before (a longer record) must not leak into the next one.
  const run::Event longer{run::RecordType::TaskSucceeded,
                          {{"f", "/M#1.0[12]"}, {"a", std::string(32, 'a')}, {"out", {{"x", 1}}}, {"t", 5}}};
  const run::Event shorter{run::RecordType::FrameEnded, {{"f", "/M#1.0[12]"}, {"ok", true}, {"out", 7}}};
  std::vector<std::uint8_t> buffer;
  run::encode_into(longer, buffer);
  EXPECT_EQ(buffer, run::encode(longer));
  run::encode_into(shorter, buffer);
  EXPECT_EQ(buffer, run::encode(shorter));
  EXPECT_EQ(run::decode(static_cast<std::uint16_t>(shorter.type), buffer).body, shorter.body);
}

TEST(Replay, ACompactRecordDecodesToItsFieldsAndACutOneIsRefused) {
  run::TaskRecord scheduled;
  scheduled.f = "/M#1.0[12]";
  scheduled.a = std::string(32, 'a');
  scheduled.r = "echo";
  scheduled.data = {{"x", 1}};
  scheduled.att = 2;
  scheduled.t = 1765000000123;
  scheduled.dl = 1765000009999;
  scheduled.hb = 2.5;
  run::TaskRecord succeeded;
  succeeded.f = scheduled.f;
  succeeded.a = scheduled.a;
  succeeded.data = "big";
  succeeded.sel = true;
  succeeded.t = 7;
  run::EntryRecord item;
  item.f = "/M#1.0[12]";
  item.s = "S";
  item.in = {{"x", 1}};
  item.t = 1765000000123;
  item.p = "/M#1.0";
  item.i = 12;
  run::EntryRecord root;
  root.s = "Start";
  root.in = Json::array({1, "a"});
  root.t = 5;
  run::EntryRecord caught;
  caught.f = "/P#2.1[0]";
  caught.s = "Handler";
  caught.in = {{"Error", "E"}};
  caught.t = 6;
  caught.err.emplace("Custom.Error", "on purpose");
  const run::EndRecord ended{"/M#1.0[12]", {{"y", Json::array({2, "b"})}}};
  for (const run::Event& e : {run::Event{run::RecordType::TaskScheduled, Json(), scheduled},
                              run::Event{run::RecordType::TaskSucceeded, Json(), succeeded}, run::Event{item},
                              run::Event{root}, run::Event{caught}, run::Event{ended}}) {
    SCOPED_TRACE(run::to_string(e.type));
    const auto payload = run::encode(e);
    ASSERT_EQ(payload.at(0), 0x01);
    const run::Event back = run::decode(static_cast<std::uint16_t>(e.type), payload);
    EXPECT_EQ(back.body, run::body_of(e));
    EXPECT_EQ(run::body_of(back), run::body_of(e));
    // As a CBOR record it encodes the same fields (what older journals hold).
    EXPECT_EQ(run::decode(static_cast<std::uint16_t>(e.type), Json::to_cbor(run::body_of(e))).body, run::body_of(e));
    for (std::size_t cut = 1; cut < payload.size(); ++cut)
      test::expect_error([&] { run::decode(static_cast<std::uint16_t>(e.type), {payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut)}); },
                         "run.record", {run::to_string(e.type)});
  }
}

TEST(Replay, JournalFromAnotherDefinitionIsRefused) {
  ScratchDir scratch;
  run::Engine engine(test::builtin_registry());
  const Json flow = Json::parse(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}})");
  ASSERT_EQ(engine.start(flow, Json::object(), test::fast_options(scratch.path(), "r1")).status, run::RunStatus::Succeeded);
  // Someone edits the stored definition of a layout-1 run (layout 2 keeps
  // it in the journal): states the journal names vanish. The recorded
  // definition_sha256 refuses it before any record is replayed (issue 9;
  // this asserted run.replay "unknown state" before).
  test::to_layout1(run::run_dir(scratch.path(), "r1"));
  const Json other = Json::parse(R"({"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}})");
  std::ofstream(run::run_dir(scratch.path(), "r1") / "definition.json") << other.dump();
  try {
    engine.resume("r1", test::fast_options(scratch.path()));
    FAIL() << "expected run.definition_changed";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "run.definition_changed");
    EXPECT_NE(std::string(e.what()).find("definition.json was changed after the run started"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace beamflow
