// The CLI contract: --json documents, exit codes (0 succeeded, 1 failed,
// 2 invalid or bad usage), clear errors for bad input, runs/show/validate.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

const char* kOk = R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"add","Parameters":{"a.$":"$.x","b":2},"End":true}}})";
const char* kFail = R"({"StartAt":"A","States":{"A":{"Type":"Fail","Error":"Beam.Lost","Cause":"shutter closed"}}})";

class Cli : public ::testing::Test {
 protected:
  TempDir dir;
  ProcessResult bf(std::vector<std::string> args) {
    args.push_back("--runs-dir");
    args.push_back("runs");
    return run_beamflow(args, dir.path());
  }
};

TEST_F(Cli, RunJsonSucceeded) {
  dir.write("f.json", kOk);
  dir.write("in.json", R"({"x": 40})");
  auto r = bf({"run", "f.json", "--input", "in.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json doc = Json::parse(r.out);  // exactly one JSON document
  EXPECT_EQ(doc["status"], "SUCCEEDED");
  EXPECT_EQ(doc["output"], 42);
  EXPECT_TRUE(doc["run_id"].is_string());
  EXPECT_EQ(doc.size(), 3u);
}

TEST_F(Cli, RunJsonFailedExitsOne) {
  dir.write("f.json", kFail);
  auto r = bf({"run", "f.json", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "FAILED");
  EXPECT_EQ(doc["error"], "Beam.Lost");
  EXPECT_EQ(doc["cause"], "shutter closed");
}

TEST_F(Cli, InvalidDefinitionListsEveryProblemWithPointers) {
  dir.write("f.json", R"({"StartAt":"Nope","States":{"A":{"Type":"Pass","Next":"Missing"},"B":{"Type":"Bogus"}}})");
  auto r = bf({"run", "f.json", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "INVALID");
  std::string all = doc["errors"].dump();
  EXPECT_NE(all.find("/StartAt"), std::string::npos) << all;
  EXPECT_NE(all.find("/States/A/Next"), std::string::npos) << all;
  EXPECT_NE(all.find("/States/B/Type"), std::string::npos) << all;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "runs")) << "an invalid flow must not create a run";
}

TEST_F(Cli, MalformedJsonNamesFileLineAndColumn) {
  dir.write("f.json", "{\n  \"StartAt\": \"A\",\n  \"States\": {,}\n}");
  auto r = bf({"run", "f.json", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "INVALID");
  const std::string msg = doc["errors"][0]["message"];
  EXPECT_NE(msg.find("cli.bad_json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("file=f.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line=3"), std::string::npos) << msg;
}

TEST_F(Cli, MissingFilesAreUsageErrors) {
  auto r = bf({"run", "nope.json", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cli.file_missing"), std::string::npos) << r.out;
  dir.write("f.json", kOk);
  r = bf({"run", "f.json", "--input", "missing-input.json", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("missing-input.json"), std::string::npos) << r.out;
}

TEST_F(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(bf({"run"}).exit_code, 2);
  EXPECT_EQ(bf({"run", "f.json", "--no-such-option"}).exit_code, 2);
  EXPECT_EQ(run_beamflow({"frobnicate"}, dir.path()).exit_code, 2);
}

TEST_F(Cli, EverySubcommandExplainsItself) {
  auto top = run_beamflow({"--help"}, dir.path());
  ASSERT_EQ(top.exit_code, 0);
  for (const char* cmd : {"run", "resume", "runs", "show", "validate", "actions", "approve", "reject"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    auto r = run_beamflow({cmd, "--help"}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage: beamflow " + std::string(cmd)), std::string::npos) << r.out;
  }
}

TEST_F(Cli, ValidateReportsProblemsOrValid) {
  dir.write("good.json", kOk);
  auto r = run_beamflow({"validate", "good.json"}, dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("valid"), std::string::npos);
  dir.write("bad.json", R"({"StartAt":"A","States":{"A":{"Type":"Task","Resource":"no-such-action","End":true},
    "Lonely":{"Type":"Pass","End":true}}})");
  r = run_beamflow({"validate", "bad.json", "--json"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "INVALID");
  const std::string all = doc["errors"].dump();
  EXPECT_NE(all.find("no-such-action"), std::string::npos) << all;
  EXPECT_NE(all.find("unreachable"), std::string::npos) << all;
}

TEST_F(Cli, RunsListsOldestFirstAndShowPrintsHistory) {
  dir.write("ok.json", kOk);
  dir.write("fail.json", kFail);
  dir.write("in.json", R"({"x": 1})");
  ASSERT_EQ(bf({"run", "ok.json", "--input", "in.json", "--run-id", "first", "--json"}).exit_code, 0);
  ASSERT_EQ(bf({"run", "fail.json", "--run-id", "second", "--json"}).exit_code, 1);
  auto r = bf({"runs", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  Json runs = Json::parse(r.out);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["run_id"], "first");
  EXPECT_EQ(runs[0]["status"], "SUCCEEDED");
  EXPECT_EQ(runs[0]["flow"], "ok.json");
  EXPECT_TRUE(runs[0]["started"].is_string());
  EXPECT_EQ(runs[1]["status"], "FAILED");
  r = bf({"show", "first"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("TaskScheduled"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RunEnded"), std::string::npos) << r.out;
  r = bf({"show", "first", "--json"});
  Json shown = Json::parse(r.out);
  EXPECT_EQ(shown["run"]["status"], "SUCCEEDED");
  EXPECT_GE(shown["history"].size(), 4u);
  EXPECT_EQ(bf({"show", "nope"}).exit_code, 1);
}

TEST_F(Cli, ConcurrentResumeIsRefused) {
  dir.write("slow.json", R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"sleep","Parameters":{"seconds":2},"End":true}}})");
  pid_t pid = spawn({"run", "slow.json", "--run-id", "slow", "--runs-dir", "runs"}, dir.path(), "slow");
  // Wait until the run exists.
  for (int i = 0; i < 200 && !std::filesystem::exists(dir.path() / "runs/slow/status.json"); ++i) usleep(10000);
  auto r = bf({"resume", "slow", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("run.locked"), std::string::npos) << r.out;
  auto runs = Json::parse(bf({"runs", "--json"}).out);
  EXPECT_EQ(runs[0]["status"], "RUNNING");
  EXPECT_EQ(wait_exit(pid), 0);
}

TEST_F(Cli, OversizedInputIsRefused) {
  dir.write("f.json", kOk);
  dir.write("big.json", Json{{"x", std::string(2000, 'a')}}.dump());
  auto r = bf({"run", "f.json", "--input", "big.json", "--max-payload-bytes", "1000", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("run.input_too_large"), std::string::npos) << r.out;
}

TEST_F(Cli, ExampleFlowsValidate) {
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() + "/configs/flows")) {
    const std::string name = entry.path().filename().string();
    if (name.find(".input.") != std::string::npos || entry.path().extension() != ".json") continue;
    auto r = run_beamflow({"validate", entry.path().string()}, dir.path());
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.out << r.err;
  }
}

TEST_F(Cli, HelloDemoFlowProducesItsSummary) {
  auto r = bf({"run", source_dir() + "/configs/flows/hello.json", "--input",
               source_dir() + "/configs/flows/hello.input.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json out = Json::parse(r.out)["output"];
  EXPECT_EQ(out["title"], "Scans 3 at beamline 2-BM");
  EXPECT_EQ(out["transfer_attempts"], 3);
  EXPECT_EQ(out["per_scan"][0]["total_frames"], 1520);
  EXPECT_EQ(out["per_scan"][2]["index"], 2);
  EXPECT_EQ(out["host"]["exit_code"], 0);
  EXPECT_EQ(out["digest"].get<std::string>().size(), 64u);
}

}  // namespace
}  // namespace beamflow::test

namespace beamflow::test {
namespace {

// The example reconstruction flow, end to end through the engine and the
// tomography actions: the centre found feeds the reconstruction as a number.
TEST(TomographyFlow, FindsTheCentreReconstructsAndPreviews) {
  TempDir dir;
  auto p = run_beamflow({"phantom", "--output", "d.h5", "--size", "128", "--angles", "180", "--rows", "4",
                         "--center-offset", "5.5", "--json"}, dir.path());
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const double truth = Json::parse(p.out)["center"].get<double>();
  dir.write("in.json", R"({"data": "d.h5", "volume": "r.h5", "preview": "r.png"})");
  auto r = run_beamflow({"run", source_dir() + "/configs/flows/tomography.json", "--input", "in.json",
                         "--runs-dir", "runs", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json out = Json::parse(r.out)["output"];
  EXPECT_NEAR(out["center"]["center"].get<double>(), truth, 0.25);
  EXPECT_EQ(out["recon"]["computed"], 4);
  EXPECT_NEAR(out["recon"]["center"].get<double>(), out["center"]["center"].get<double>(), 1e-9);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "r.h5"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "r.png"));
}

}  // namespace
}  // namespace beamflow::test
