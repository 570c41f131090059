// The flow actions: registered by name, JSON in and out, idempotent in the
// action_id, errors as Failed states with the ASL names flows catch.
#include <gtest/gtest.h>

#include "actions/action.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/tomography_actions.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

class ActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_tomography_actions(registry);
    std::filesystem::create_directories(work);
    make_phantom(testing::small_phantom(work / "p.h5", 32, 40, 3));
  }
  actions::ActionRequest request(const std::string& id, Json input) {
    actions::ActionRequest r;
    r.action_id = id;
    r.input = std::move(input);
    r.state_dir = work / "state" / id;
    std::filesystem::create_directories(r.state_dir);
    r.work_dir = work;
    return r;
  }
  testing::ScratchDir dir;
  // Actions run on one rank each (MPI_COMM_SELF): every rank its own files.
  std::filesystem::path work = dir / ("rank" + std::to_string(testing::world().rank()));
  actions::ActionRegistry registry;
};

TEST_F(ActionsTest, ReconstructFindCenterAndPreviewAreRegistered) {
  for (const char* name : {"reconstruct", "find_center", "preview"}) {
    actions::Action* a = registry.resolve(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_TRUE(a->info().side_effects);
    EXPECT_TRUE(a->info().synchronous);
    EXPECT_TRUE(a->info().input_schema["properties"].contains("input"));
  }
  EXPECT_TRUE(registry.resolve("reconstruct")->info().input_schema["properties"].contains("ranks"));
}

TEST_F(ActionsTest, ReconstructIsIdempotentInTheActionId) {
  actions::Action* a = registry.resolve("reconstruct");
  const auto req =
      request("a1", {{"input", "p.h5"}, {"output", "r.h5"}, {"center", "15.5"}, {"preview", "r.png"}});
  const actions::ActionState first = a->run(req);
  ASSERT_EQ(first.status, actions::ActionStatus::Succeeded) << first.cause;
  EXPECT_EQ(first.details["output"], (work / "r.h5").string());
  EXPECT_EQ(first.details["computed"], 3);
  EXPECT_EQ(first.details["center"], 15.5);
  EXPECT_TRUE(first.details["timing"].contains("seconds"));
  EXPECT_TRUE(std::filesystem::exists(work / "r.png"));
  // The same action id answers from its record, without running again.
  std::filesystem::remove(work / "r.h5");
  const actions::ActionState again = a->run(req);
  EXPECT_EQ(again.details, first.details);
  EXPECT_FALSE(std::filesystem::exists(work / "r.h5"));
  EXPECT_EQ(a->status(req).details, first.details);
  // A new id (a retry) resumes from the output's checkpoint: here, redoes it.
  const actions::ActionState retry = a->run(request("a2", req.input));
  EXPECT_EQ(retry.details["computed"], 3);
}

TEST_F(ActionsTest, FindCenterAndPreview) {
  const actions::ActionState c = registry.resolve("find_center")->run(request("c", {{"input", "p.h5"}}));
  ASSERT_EQ(c.status, actions::ActionStatus::Succeeded) << c.cause;
  EXPECT_NEAR(c.details["center"].get<double>(), 15.5, 0.5);
  EXPECT_EQ(c.details["method"], "vo");
  registry.resolve("reconstruct")->run(request("r", {{"input", "p.h5"}, {"output", "r.h5"}}));
  const actions::ActionState p = registry.resolve("preview")->run(
      request("p", {{"input", "r.h5"}, {"output", "v.png"}, {"slices", {0, 2}}}));
  ASSERT_EQ(p.status, actions::ActionStatus::Succeeded) << p.cause;
  EXPECT_EQ(p.details["files"].size(), 2u);
}

TEST_F(ActionsTest, ErrorsBecomeFailedStates) {
  actions::Action* a = registry.resolve("reconstruct");
  actions::ActionState s = a->run(request("bad1", {{"input", "p.h5"}, {"output", "r.h5"}, {"chunkrows", 2}}));
  EXPECT_EQ(s.status, actions::ActionStatus::Failed);
  EXPECT_EQ(s.error, "Action.InvalidInput");
  EXPECT_NE(s.cause.find("chunkrows"), std::string::npos) << s.cause;
  s = a->run(request("bad2", {{"input", "absent.h5"}, {"output", "r.h5"}}));
  EXPECT_EQ(s.error, "Tomo.InputError");
  EXPECT_NE(s.cause.find("tomo.input.not_found"), std::string::npos) << s.cause;
  s = a->run(request("bad3", {{"input", "p.h5"}, {"output", "r.h5"}, {"center", "99"}}));
  EXPECT_EQ(s.error, "Tomo.CenterError");
}

}  // namespace
}  // namespace beamflow::jobs
