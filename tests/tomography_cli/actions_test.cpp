// The reconstruct action with "ranks" > 1 runs `mpirun beamflow recon` and
// reports its summary, or its error under the error's own id.
#include <gtest/gtest.h>

#include <cstdlib>

#include "actions/action.hpp"
#include "cli_fixture.hpp"
#include "jobs/tomography/tomography_actions.hpp"

namespace beamflow::jobs::testing {
namespace {

class RanksActionTest : public CliTest {
 protected:
  void SetUp() override {
    setenv("BEAMFLOW_EXE", BEAMFLOW_BINARY, 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);  // CI has 2 cores
    register_tomography_actions(registry);
    phantom("p.h5", "--size 48 --angles 40 --rows 5");
  }
  actions::ActionState run(const std::string& id, const Json& input) {
    actions::ActionRequest r;
    r.action_id = id;
    r.input = input;
    r.state_dir = path("state-" + id);
    std::filesystem::create_directories(r.state_dir);
    r.work_dir = path("");
    return registry.resolve("reconstruct")->run(r);
  }
  actions::ActionRegistry registry;
};

TEST_F(RanksActionTest, TwoRanksThroughMpirun) {
  const actions::ActionState s =
      run("a", {{"input", "p.h5"}, {"output", "r.h5"}, {"center", "23.5"}, {"ranks", 2}});
  ASSERT_EQ(s.status, actions::ActionStatus::Succeeded) << s.cause;
  EXPECT_EQ(s.details["ranks"], 2);
  EXPECT_EQ(s.details["computed"], 5);
  EXPECT_EQ(done_flags(path("r.h5")), std::vector<std::uint8_t>(5, 1));
}

TEST_F(RanksActionTest, TheChildsErrorKeepsItsName) {
  actions::ActionState s = run("b", {{"input", "absent.h5"}, {"output", "r.h5"}, {"ranks", 2}});
  EXPECT_EQ(s.status, actions::ActionStatus::Failed);
  EXPECT_EQ(s.error, "Tomo.InputError");
  EXPECT_NE(s.cause.find("[tomo.input.not_found]"), std::string::npos) << s.cause;
  s = run("c", {{"input", "p.h5"}, {"output", "r.h5"}, {"algorithm", "art"}, {"ranks", 2}});
  EXPECT_EQ(s.error, "Action.InvalidInput");
  s = run("d", {{"input", "p.h5"}, {"output", "r.h5"}, {"ranks", "two"}});
  EXPECT_EQ(s.error, "Action.InvalidInput");
  EXPECT_NE(s.cause.find("tomo.usage.ranks"), std::string::npos) << s.cause;
}

TEST_F(RanksActionTest, AChildWithoutASummaryFails) {
  setenv("BEAMFLOW_EXE", "/bin/false", 1);
  const actions::ActionState s = run("e", {{"input", "p.h5"}, {"output", "r.h5"}, {"ranks", 2}});
  setenv("BEAMFLOW_EXE", BEAMFLOW_BINARY, 1);
  EXPECT_EQ(s.status, actions::ActionStatus::Failed);
  EXPECT_EQ(s.error, "Tomo.KernelError");
  EXPECT_NE(s.cause.find("[tomo.action.ranks_failed] mpirun -np 2 beamflow recon exited with"), std::string::npos)
      << s.cause;
  EXPECT_NE(s.cause.find("stderr="), std::string::npos) << s.cause;
}

}  // namespace
}  // namespace beamflow::jobs::testing
