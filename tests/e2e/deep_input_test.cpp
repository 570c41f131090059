// Issue 9 §3: bad input never crashes the engine or explodes resources.
// 70,000-deep JSON crashed `run` (file and stdin), `validate`, a flow's
// Result, `model run` and a command's JSON stdout (a false Command.Lost) with
// SIGSEGV; 20,000-50,000 deep took GBs and seconds. Every entry point now
// goes through core/json_parse.hpp, which stops at 512 levels while parsing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

std::string deep(std::size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

class DeepInput : public ::testing::Test {
 protected:
  TempDir dir;
  ProcessResult bf(std::vector<std::string> args) {
    args.push_back("--runs-dir");
    args.push_back("runs");
    return run_beamflow(args, dir.path());
  }
  // `beamflow ARGS... < stdin_file`.
  int bf_stdin(std::vector<std::string> args, const std::string& stdin_file, std::string& err) {
    args.insert(args.begin(), beamflow_binary());
    args.push_back("--runs-dir");
    args.push_back("runs");
    ProcessOptions options;
    options.cwd = dir.path();
    options.stdin_text = slurp(dir.path() / stdin_file);
    const ProcessResult r = run_process(args, options);
    err = r.err + r.out;
    return r.exit_code;
  }
  static void expect_too_deep(int code, const std::string& text) {
    EXPECT_GT(code, 0) << text;
    EXPECT_LT(code, 128) << "killed by a signal: " << text.substr(0, 400);
    EXPECT_NE(text.find("json.too_deep"), std::string::npos) << text.substr(0, 400);
    EXPECT_NE(text.find("512"), std::string::npos) << text.substr(0, 400);
  }
};

const char* kEcho = R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";

TEST_F(DeepInput, FlowFilesInputFilesAndStdinAreRejectedNotCrashed) {
  dir.write("f.json", kEcho);
  dir.write("deep.json", deep(70'000));
  dir.write("deepflow.json", R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":)" + deep(70'000) +
                                 R"(,"End":true}}})");
  auto r = bf({"run", "f.json", "--input", "deep.json", "--json"});
  expect_too_deep(r.exit_code, r.out + r.err);
  r = bf({"run", "deep.json", "--json"});
  expect_too_deep(r.exit_code, r.out + r.err);
  r = bf({"run", "deepflow.json", "--json"});
  expect_too_deep(r.exit_code, r.out + r.err);
  r = run_beamflow({"validate", "deepflow.json"}, dir.path());
  expect_too_deep(r.exit_code, r.out + r.err);
  std::string err;
  expect_too_deep(bf_stdin({"run", "f.json", "--input", "-", "--json"}, "deep.json", err), err);
  r = run_beamflow({"model", "run", "anything", "--input", "deep.json", "--repo", "repo"}, dir.path());
  expect_too_deep(r.exit_code, r.out + r.err);
}

TEST_F(DeepInput, DeepButAllowedInputsAreQuickAndStoredCompactly) {
  dir.write("f.json", kEcho);
  dir.write("d512.json", deep(512));
  auto r = bf({"run", "f.json", "--input", "d512.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["output"].dump(), deep(512));
  // 40,000 deep: rejected in well under a second, not GBs and 4-30 s.
  dir.write("d40k.json", deep(40'000));
  const auto t0 = std::chrono::steady_clock::now();
  r = bf({"run", "f.json", "--input", "d40k.json", "--json"});
  expect_too_deep(r.exit_code, r.out + r.err);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
  // The input is stored compactly (input.json was pretty-printed: 0.8-5 GB
  // for deep inputs); since layout 2 it is CBOR in the journal, once in each
  // record that carries it (RunStarted, StateEntered, TaskScheduled,
  // TaskSucceeded, FrameEnded, RunEnded for this echo).
  Json wide = Json::array();
  for (int i = 0; i < 20'000; ++i) wide.push_back({{"k", i}, {"v", Json::array({i, i + 1})}});
  dir.write("wide.json", wide.dump());
  r = bf({"run", "f.json", "--input", "wide.json", "--json", "--run-id", "wide"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "runs" / "wide" / "input.json"));
  const auto stored = std::filesystem::file_size(dir.path() / "runs" / "wide" / "journal");
  EXPECT_LE(stored, 6 * wide.dump().size());
}

TEST_F(DeepInput, ADeepCommandStdoutIsNotJsonNotALostCommand) {
  dir.write("deep_out.json", deep(70'000));
  dir.write("f.json", R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"command",
      "Parameters":{"argv":["cat","deep_out.json"]},"ResultSelector":{"code.$":"$.exit_code"},"End":true}}})");
  const auto r = bf({"run", "f.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "SUCCEEDED") << r.out;
  EXPECT_EQ(doc["output"], Json({{"code", 0}}));
}

}  // namespace
}  // namespace beamflow::test

namespace beamflow::test {
namespace {

std::uintmax_t bytes_under(const std::filesystem::path& dir, bool include_stdout) {
  std::uintmax_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (include_stdout || e.path().filename() != "stdout")) total += e.file_size();
  return total;
}

// Issue 9 §3: a command's 15 MB JSON stdout grew the journal by 15 MB and
// wrote a 16 MB result.json even when ResultSelector discarded it. It is
// stored once (the command's stdout file); the journal holds the selected
// result and result.json a reference.
TEST_F(DeepInput, A15MbCommandOutputIsStoredOnce) {
  Json big = Json::array();
  for (int i = 0; i < 1'000'000; ++i) big.push_back("value-" + std::to_string(i));
  const std::string text = Json{{"items", big}, {"n", 1'000'000}}.dump();
  ASSERT_GT(text.size(), 10u << 20);
  dir.write("big.json", text);
  dir.write("f.json", R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"command",
      "Parameters":{"argv":["cat","big.json"]},"ResultSelector":{"n.$":"$.json.n"},"End":true}}})");
  auto r = bf({"run", "f.json", "--json", "--run-id", "big"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Json::parse(r.out)["output"], Json({{"n", 1'000'000}}));
  const auto run_dir = dir.path() / "runs" / "big";
  // Everything beamflow wrote besides the command's own stdout file.
  EXPECT_LT(bytes_under(run_dir, false), 1u << 20);
  // Resume of the finished run replays the same output from the journal.
  r = bf({"resume", "big", "--json"});
  EXPECT_EQ(Json::parse(r.out)["output"], Json({{"n", 1'000'000}})) << r.out << r.err;

  // Without a ResultSelector the flow keeps the document (the journal holds
  // what the state keeps), but result.json still does not copy it.
  dir.write("g.json", R"({"StartAt":"S","States":{"S":{"Type":"Task","Resource":"command",
      "Parameters":{"argv":["cat","big.json"]},"OutputPath":"$.json.n","End":true}}})");
  r = bf({"run", "g.json", "--json", "--run-id", "whole"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Json::parse(r.out)["output"], 1'000'000);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path() / "runs" / "whole")) {
    if (e.path().filename() == "result.json") {
      EXPECT_LT(e.file_size(), 1u << 20) << e.path();
    }
  }
}

}  // namespace
}  // namespace beamflow::test
