// The `transfer` flow action: the request as input plus the endpoints file,
// the summary as output, idempotent in the action_id, bad requests as
// Action.InvalidInput and other errors under their Transfer.* name.
#include <gtest/gtest.h>

#include "actions/action.hpp"
#include "fixture.hpp"
#include "jobs/transfer/transfer_action.hpp"

namespace beamflow::transfer::testing {
namespace {

class ActionTest : public TransferTest {
 protected:
  actions::ActionState call(const std::string& id, Json input) {
    actions::ActionRegistry registry;
    register_transfer_actions(registry);
    actions::Action* action = registry.resolve("https://actions.example.org/transfer");
    EXPECT_NE(action, nullptr);
    actions::ActionRequest r;
    r.action_id = id;
    r.input = std::move(input);
    r.state_dir = dir.path() / "actions" / id;
    r.work_dir = dir.path();
    stdfs::create_directories(r.state_dir);
    return action->run(r);
  }
  void SetUp() override {
    TransferTest::SetUp();
    put(dir.path() / "endpoints.json",
        Json{{"endpoints",
              {{{"name", "beamline"}, {"path", "src"}}, {{"name", "compute"}, {"path", "dst"}, {"write", true}}}}}
            .dump());
  }
};

TEST_F(ActionTest, TransfersAndRemembersItsOutcome) {
  put(src / "scan.h5", bytes(100'000, 4));
  Json input = request(Json::array({item("scan.h5", "in/scan.h5")}));
  input["endpoints"] = "endpoints.json";
  const auto state = call("a1", input);
  ASSERT_EQ(state.status, actions::ActionStatus::Succeeded) << state.cause;
  EXPECT_EQ(state.details["files_copied"], 1);
  EXPECT_EQ(slurp(dst / "in/scan.h5"), slurp(src / "scan.h5"));
  EXPECT_TRUE(stdfs::exists(dir.path() / "actions/a1/manifest/request.json"));
  // Run again (a resumed engine): the recorded outcome, nothing copied.
  stdfs::remove(dst / "in/scan.h5");
  EXPECT_EQ(call("a1", input).details, state.details);
  EXPECT_FALSE(stdfs::exists(dst / "in/scan.h5"));
}

TEST_F(ActionTest, ErrorsBecomeFailedStates) {
  put(src / "f", "f");
  Json input = request(Json::array({item("f", "f")}), {{"sync_level", "often"}});
  input["endpoints"] = "endpoints.json";
  auto state = call("bad", input);
  EXPECT_EQ(state.status, actions::ActionStatus::Failed);
  EXPECT_EQ(state.error, "Action.InvalidInput");
  EXPECT_NE(state.cause.find("[transfer.request.invalid]"), std::string::npos) << state.cause;
  input = request(Json::array({item("missing", "f")}));
  input["endpoints"] = "endpoints.json";
  state = call("missing", input);
  EXPECT_EQ(state.error, "Transfer.SourceError");
  EXPECT_NE(state.cause.find("[transfer.source.missing]"), std::string::npos) << state.cause;
  input["endpoints"] = "nowhere.json";
  EXPECT_EQ(call("noendpoints", input).error, "Action.InvalidInput");
}

}  // namespace
}  // namespace beamflow::transfer::testing
