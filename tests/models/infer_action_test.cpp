// The infer action: requests queued together run as one batch, a bad
// request fails alone, a lost request is re-queued, and a Map over rows in a
// flow is one kernel call with scikit-learn's values.
#include "jobs/models/infer_action.hpp"

#include "jobs/models/tensor_h5.hpp"
#include "model_test_support.hpp"
#include "run/engine.hpp"

namespace beamflow::models {
namespace {

using actions::ActionRequest;
using actions::ActionStatus;
using testing::reference_dir;

class InferFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    PublishRequest p;
    p.source = testing::copy_reference_model("rf_classifier", tmp / "src");
    Repository(tmp / "repo").publish(p);
  }
  ActionRequest request(const std::string& id, Json input) {
    ActionRequest r;
    r.action_id = id;
    input["repo"] = (tmp / "repo").string();
    r.input = std::move(input);
    r.work_dir = tmp.path();
    r.run_dir = tmp.path();
    return r;
  }
  Tensor rows(std::int64_t first, std::int64_t count) const {
    return DatasetSource(reference_dir() / "reference.h5", "/X").read_rows(first, count, DType::Float64);
  }
  Json expected(std::int64_t first, std::int64_t count) const {
    return tensor_to_json(DatasetSource(reference_dir() / "reference.h5", "/expected/rf_classifier")
                              .read_rows(first, count, DType::Float64));
  }
  testing::TempDir tmp;
};

TEST_F(InferFixture, RequestsQueuedTogetherRunAsOneBatchAndABadOneFailsAlone) {
  InferAction infer;
  Json huge = tensor_to_json(rows(0, 1));
  huge[0][3] = 1e39;  // beyond float32: not finite once cast, as in scikit-learn
  const std::vector<ActionRequest> requests = {
      request("a", {{"model", "rf_classifier"}, {"inputs", tensor_to_json(rows(0, 3))}}),
      request("b", {{"model", "rf_classifier@1.0.0"}, {"inputs", tensor_to_json(rows(3, 5))}}),
      request("c", {{"model", "rf_classifier"}, {"inputs", Json::parse("[[1, 2]]")}}),
      request("d", {{"model", "rf_classifier"}, {"inputs", huge}}),
  };
  for (const auto& r : requests) EXPECT_EQ(infer.run(r).status, ActionStatus::Active);
  const auto a = infer.status(requests[0]);
  ASSERT_EQ(a.status, ActionStatus::Succeeded) << a.cause;
  EXPECT_EQ(a.details["outputs"], expected(0, 3));
  EXPECT_EQ(a.details["model"], "rf_classifier@1.0.0");
  const auto b = infer.status(requests[1]);
  ASSERT_EQ(b.status, ActionStatus::Succeeded) << b.cause;
  EXPECT_EQ(b.details["outputs"], expected(3, 5));
  const auto c = infer.status(requests[2]);
  EXPECT_EQ(c.status, ActionStatus::Failed);
  EXPECT_EQ(c.error, "Model.InvalidInput");
  EXPECT_NE(c.cause.find("[model.input.shape]"), std::string::npos) << c.cause;
  const auto d = infer.status(requests[3]);
  EXPECT_EQ(d.error, "Model.InvalidInput");
  EXPECT_NE(d.cause.find("[model.input.nonfinite] input row 0, feature 3"), std::string::npos) << d.cause;
  EXPECT_EQ(infer.batches_run(), 1u);
}

TEST_F(InferFixture, ARequestLostWithItsProcessIsQueuedAgain) {
  InferAction restarted;  // never saw run() for this id
  const auto st =
      restarted.status(request("x", {{"model", "rf_classifier"}, {"inputs", tensor_to_json(rows(0, 2))}}));
  ASSERT_EQ(st.status, ActionStatus::Succeeded) << st.cause;
  EXPECT_EQ(st.details["outputs"], expected(0, 2));
}

TEST_F(InferFixture, UnknownModelsAndBadInputDocumentsFailAtOnce) {
  InferAction infer;
  auto st = infer.run(request("u", {{"model", "nope@1.0.0"}, {"inputs", Json::parse("[[1]]")}}));
  EXPECT_EQ(st.status, ActionStatus::Failed);
  EXPECT_EQ(st.error, "Model.NotFound");
  st = infer.run(request("v", {{"model", "rf_classifier"}, {"inputs", "rows.h5"}}));
  EXPECT_EQ(st.error, "Model.InvalidInput");
  EXPECT_NE(st.cause.find("[model.input.document] /inputs: expected a nested array"), std::string::npos)
      << st.cause;
  st = infer.run(request("w", {{"inputs", Json::parse("[[1]]")}}));
  EXPECT_EQ(st.error, "Action.InvalidInput");
  st = infer.run(request("y", {{"model", "rf_classifier"}, {"inputs", Json::parse("[[1]]")}, {"outptu", 1}}));
  EXPECT_EQ(st.error, "Action.InvalidInput");
}

TEST_F(InferFixture, Hdf5InAndOutWithRelativePaths) {
  std::filesystem::copy_file(reference_dir() / "reference.h5", tmp / "rows.h5");
  InferAction infer;
  const auto r = request("h", {{"model", "rf_classifier"},
                               {"inputs", {{"file", "rows.h5"}, {"dataset", "/X"}}},
                               {"output", {{"file", "probs.h5"}}},
                               {"block_rows", 30000}});
  infer.run(r);
  const auto st = infer.status(r);
  ASSERT_EQ(st.status, ActionStatus::Succeeded) << st.cause;
  EXPECT_EQ(st.details["output"]["shape"], Json::parse("[100000, 3]"));
  EXPECT_EQ(st.details["output"]["dataset"], "/outputs");
  DatasetSource out(tmp / "probs.h5", "/outputs");
  EXPECT_EQ(tensor_to_json(out.read_rows(99990, 10, DType::Float64)), expected(99990, 10));
}

TEST_F(InferFixture, AMapOverRowsInAFlowIsOneBatchWithScikitLearnsValues) {
  auto infer = std::make_shared<InferAction>();
  actions::ActionRegistry registry;
  actions::register_builtin_actions(registry);
  registry.add(infer);
  const Json flow = Json::parse(R"JSON({"StartAt": "M", "States": {"M": {
      "Type": "Map", "ItemsPath": "$.rows", "MaxConcurrency": 0,
      "ItemSelector": {"row.$": "$$.Map.Item.Value", "repo.$": "$.repo"},
      "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "infer",
          "Parameters": {"model": "rf_classifier", "repo.$": "$.repo", "inputs.$": "States.Array($.row)"},
          "OutputPath": "$.outputs[0]", "End": true}}},
      "End": true}}})JSON");
  run::RunOptions o;
  o.runs_root = tmp / "runs";
  o.work_dir = tmp.path();
  o.durability = journal::Durability::None;
  const auto result = run::Engine(registry).start(
      flow, {{"rows", tensor_to_json(rows(0, 24))}, {"repo", (tmp / "repo").string()}}, o);
  ASSERT_EQ(result.status, run::RunStatus::Succeeded) << result.error.cause;
  EXPECT_EQ(result.output, expected(0, 24));
  EXPECT_EQ(infer->batches_run(), 1u);
}

TEST_F(InferFixture, AnOutputThatCannotBeWrittenFailsTheRequest) {
  InferAction infer;
  const auto r = request("o", {{"model", "rf_classifier"},
                               {"inputs", tensor_to_json(rows(0, 2))},
                               {"output", {{"file", "no/such/dir/out.h5"}}}});
  infer.run(r);
  const auto st = infer.status(r);
  EXPECT_EQ(st.error, "Model.IOError");
  EXPECT_NE(st.cause.find("[model.output.write] cannot create"), std::string::npos) << st.cause;
}

}  // namespace
}  // namespace beamflow::models
