// configs/flows/xray_tags.json end to end, as a user runs it: publish
// configs/models/xray-tagger into a fresh repository with the real binary,
// write a stack of 300x280 detector frames (resized to the network's 256x256;
// a negative, a NaN and an infinite pixel among them), `beamflow run` the
// shipped flow with its shipped input, and compare the tags dataset with
// PyTorch running the same preprocessing and network (xray_tags_reference.py).
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

// `/usr/bin/python3 xray_tags_reference.py ARGS` in `dir`; stdout+stderr.
int reference(const std::string& args, const std::filesystem::path& dir, std::string& output) {
  ProcessOptions options;
  options.cwd = dir;
  options.merge_stderr = true;
  const ProcessResult r =
      run_shell("/usr/bin/python3 '" + source_dir() + "/tests/e2e/xray_tags_reference.py' " + args, options);
  output = r.out;
  return r.signal ? -1 : r.exit_code;
}

const std::string kModel = source_dir() + "/configs/models/xray-tagger";

// Publishes the shipped model into DIR/repo and runs the shipped flow with
// its shipped input in DIR.
ProcessResult publish_and_run(const TempDir& dir) {
  auto pub = run_beamflow({"model", "publish", kModel, "--repo", (dir.path() / "repo").string()}, dir.path());
  EXPECT_EQ(pub.exit_code, 0) << pub.out << pub.err;
  std::filesystem::copy_file(source_dir() + "/configs/flows/xray_tags.input.json", dir.path() / "input.json");
  // The flow names the model without a repository: the environment gives it.
  ::setenv("BEAMFLOW_MODEL_REPO", (dir.path() / "repo").c_str(), 1);
  auto run = run_beamflow({"run", source_dir() + "/configs/flows/xray_tags.json", "--input", "input.json",
                           "--runs-dir", "runs", "--json"},
                          dir.path());
  ::unsetenv("BEAMFLOW_MODEL_REPO");
  return run;
}

TEST(XrayTagsFlow, TagsEveryFrameOfAStackLikePyTorch) {
  TempDir dir;
  const std::string& models = kModel;
  std::string out;
  ASSERT_EQ(reference("stack xray_stack.h5", dir.path(), out), 0) << out;
  auto run = publish_and_run(dir);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const Json doc = Json::parse(run.out);
  EXPECT_EQ(doc["status"], "SUCCEEDED");
  EXPECT_EQ(doc["output"]["tags"]["model"], "xray-tagger@1.0.0");
  EXPECT_EQ(doc["output"]["tags"]["output"]["shape"], Json::parse("[3, 17]"));

  ASSERT_EQ(reference("compare xray_stack.h5 xray_tags.h5 '" + models + "'", dir.path(), out), 0) << out;
  const Json cmp = Json::parse(out);
  EXPECT_EQ(cmp["shape"], Json::parse("[3, 17]"));
  ASSERT_EQ(cmp["labels"].size(), 17u);
  EXPECT_EQ(cmp["labels"][1], "beam off image");
  EXPECT_EQ(cmp["labels"][12], "ring");
  EXPECT_EQ(cmp["labels"][16], "wedge beamstop");
  // Within the 1e-5 relative of PyTorch (probabilities, not all tiny).
  EXPECT_LE(cmp["max_rel"].get<double>(), 1e-5) << out;
  EXPECT_LE(cmp["max_abs"].get<double>(), 1e-5) << out;
  EXPECT_GT(cmp["max_value"].get<double>() - cmp["min_value"].get<double>(), 0.5) << "outputs should differ";
  std::cout << "xray_tags vs PyTorch: " << out;
}

TEST(XrayTagsFlow, AMissingStackFailsTheRunWithTheModelError) {
  TempDir dir;
  auto run = publish_and_run(dir);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  const Json doc = Json::parse(run.out);
  EXPECT_EQ(doc["status"], "FAILED");
  EXPECT_NE(doc.dump().find("xray_stack.h5"), std::string::npos) << doc.dump();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "xray_tags.h5"));
}

}  // namespace
}  // namespace beamflow::test
