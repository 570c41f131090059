// The provenance action alone: what it records, that it is idempotent in
// the action id, and its errors (a missing file, malformed paths, an
// existing record without overwrite).
#include <gtest/gtest.h>

#include "../support/scratch_dir.hpp"
#include "actions/builtins.hpp"
#include "fixture.hpp"
#include "platform/checksum.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;

class Provenance : public ::testing::Test {
 protected:
  actions::ActionRequest request(Json input, const std::string& id = "p1") {
    actions::ActionRequest r;
    r.action_id = id;
    r.run_id = "run-1";
    r.input = std::move(input);
    r.work_dir = dir.path();
    r.state_dir = dir.path() / "state" / id;
    fsys::create_directories(r.state_dir);
    return r;
  }
  ScratchDir dir;
  std::shared_ptr<actions::Action> action = actions::make_provenance_action();
};

TEST_F(Provenance, RecordsChecksumsParametersAndTimingsOnceForItsActionId) {
  dir.write("raw.h5", "raw data");
  dir.write("vol.h5", "volume");
  dir.write("a.png", "png a");
  const Json input{{"output", "prov.json"},
                   {"inputs", {"raw.h5"}},
                   {"results", Json::array({"vol.h5", Json::array({"a.png"})})},  // nested: flattened
                   {"parameters", {{"algorithm", "gridrec"}}},
                   {"center", {{"value", 31.5}}},
                   {"approval", {{"approved", true}, {"by", "alice"}}},
                   {"steps", {{"copy", {{"seconds", 1.5}}}, {"recon", {{"timing", {{"seconds", 2.0}}}}}, {"wait", {}}}},
                   {"ranks", 2}};
  const auto state = action->run(request(input));
  ASSERT_EQ(state.status, actions::ActionStatus::Succeeded) << state.error << ": " << state.cause;
  const Json record = read_json(dir.path() / "prov.json");
  EXPECT_EQ(record["inputs"][0]["sha256"], platform::sha256_file(dir.path() / "raw.h5"));
  ASSERT_EQ(record["results"].size(), 2u);
  EXPECT_EQ(record["results"][1]["name"], "a.png");
  EXPECT_EQ(record["results"][1]["size"], 5);
  EXPECT_EQ(record["results"][1]["sha256"], platform::sha256_file(dir.path() / "a.png"));
  EXPECT_EQ(record["timings"], (Json{{"copy", 1.5}, {"recon", 2.0}}));
  EXPECT_EQ(record["timings_total_seconds"], 3.5);
  EXPECT_EQ(record["approval"]["by"], "alice");
  EXPECT_EQ(record["ranks"], 2);
  EXPECT_EQ(record["run_id"], "run-1");
  EXPECT_EQ(state.details["sha256"], platform::sha256_file(dir.path() / "prov.json"));
  // Again with the same action id: the recorded outcome, the file untouched.
  const std::string before = platform::sha256_file(dir.path() / "prov.json");
  const auto again = action->run(request(input));
  EXPECT_EQ(again.status, actions::ActionStatus::Succeeded);
  EXPECT_EQ(platform::sha256_file(dir.path() / "prov.json"), before);
  // Another action id: the record exists and overwrite was not asked for.
  const auto refused = action->run(request(input, "p2"));
  EXPECT_EQ(refused.status, actions::ActionStatus::Failed);
  EXPECT_NE(refused.cause.find("fs.output.exists"), std::string::npos) << refused.cause;
}

TEST_F(Provenance, AMissingFileOrMalformedPathsFailAndWriteNothing) {
  const auto missing = action->run(request({{"output", "prov.json"}, {"inputs", {"nope.h5"}}}, "m"));
  EXPECT_EQ(missing.status, actions::ActionStatus::Failed);
  EXPECT_NE(missing.cause.find("fs.read"), std::string::npos) << missing.cause;
  const auto malformed = action->run(request({{"output", "prov.json"}, {"results", {{{"a", 1}}}}}, "b"));
  EXPECT_EQ(malformed.status, actions::ActionStatus::Failed);
  EXPECT_EQ(malformed.error, "Action.InvalidInput");
  const auto no_output = action->run(request({{"inputs", Json::array()}}, "o"));
  EXPECT_EQ(no_output.error, "Action.InvalidInput");
  EXPECT_FALSE(fsys::exists(dir.path() / "prov.json"));
}

}  // namespace
}  // namespace beamflow::test
