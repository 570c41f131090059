// ONNX-ML tree ensembles (format "onnx-ml"): outputs against an independent
// numpy evaluation of the operator specification (onnx_ml_reference.py) over
// 20,000 rows per model, publish of a bare .onnx file, and the load-time
// errors for attributes that are wrong or not supported.
#include <cmath>

#include "jobs/models/model.hpp"
#include "jobs/models/repository.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "jobs/onnx/tree_ensemble.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::expect_error;

const std::filesystem::path& onnx_ml_dir() {
  static const std::filesystem::path dir =
      testing::script_data("tests/models/onnx_ml_reference.py", {"tools/export_onnx_ml.py"});
  return dir;
}

Tensor reference(const std::string& dataset, DType type) {
  DatasetSource source(onnx_ml_dir() / "reference.h5", dataset);
  return source.read_rows(0, source.rows(), type);
}

// Largest |a - b|; NaN where either is NaN counts as infinite.
double max_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.data<double>(), y = b.data<double>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(x[i] - y[i]);
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  return worst;
}

const char* const kModels[] = {"rf_classifier",  "gb_regressor",       "rf_two_targets", "modes_softmax",
                               "modes_logistic", "modes_softmax_zero", "modes_sum",      "modes_average",
                               "modes_min",      "modes_max"};

TEST(OnnxMl, EveryModeAggregateAndPostTransformMatchesTheSpecificationOver20kRows) {
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    const auto runtime = onnx::load_tree_ensemble_runtime(onnx_ml_dir() / (std::string(name) + ".onnx"));
    const Tensor x = reference(std::string("/X/") + name, DType::Float32);
    ASSERT_EQ(x.shape()[0], 20000);
    const Tensor expected = reference(std::string("/expected/") + name, DType::Float64);
    const Tensor out = runtime->run(x);
    ASSERT_EQ(out.shape(), expected.shape());
    // Same float64 sums in the same tree order; exp may differ in the last bit.
    EXPECT_LE(max_difference(out, expected), 1e-15);
  }
}

TEST(OnnxMl, SplitModesUseNegatedFeaturesAndEqualityDuplicatesSubtrees) {
  const auto g = onnx::load_graph(onnx_ml_dir() / "modes_sum.onnx");
  const onnx::TreeEnsemble e = onnx::translate_tree_ensemble(g, "modes_sum.onnx");
  EXPECT_TRUE(e.negated_features);
  EXPECT_EQ(e.forest.n_features, 12);
  EXPECT_GT(e.forest.n_nodes(), e.onnx_nodes);  // EQ/NEQ take two splits and copy a subtree
  // BRANCH_LEQ sends NaN to its false branch, which the kernel's first
  // child must be: -x <= prev(-t), one split per node.
  const auto sk = onnx::translate_tree_ensemble(onnx::load_graph(onnx_ml_dir() / "rf_classifier.onnx"), "rf");
  EXPECT_TRUE(sk.negated_features);
  EXPECT_EQ(sk.forest.n_nodes(), sk.onnx_nodes);
}

TEST(OnnxMl, ClassifierSignatureAndDescription) {
  const auto clf = onnx::load_tree_ensemble_runtime(onnx_ml_dir() / "rf_classifier.onnx");
  EXPECT_EQ(clf->signature().output.labels, (std::vector<std::string>{"high", "low", "mid"}));
  EXPECT_EQ(clf->signature().input.shape_string(), "[null, 12]");
  EXPECT_EQ(clf->signature().output.shape_string(), "[null, 3]");
  EXPECT_EQ(clf->describe()["operator"], "TreeEnsembleClassifier");
  EXPECT_EQ(clf->describe()["trees"], 25);
  const auto reg = onnx::load_tree_ensemble_runtime(onnx_ml_dir() / "modes_max.onnx");
  EXPECT_EQ(reg->describe()["aggregate_function"], "MAX");
  EXPECT_EQ(reg->signature().output.labels, std::vector<std::string>{});
}

TEST(OnnxMl, PublishingABareOnnxMlFileDetectsTheFormatAndRunsIt) {
  testing::TempDir tmp;
  Repository repo{tmp / "repo"};
  PublishRequest r;
  r.source = onnx_ml_dir() / "rf_classifier.onnx";
  r.name = "clf";
  const auto record = repo.publish(r);
  const Json meta = testing::read_json(record.dir / "metadata.json");
  EXPECT_EQ(meta["beamflow"]["format"], onnx::kOnnxMlFormat);
  const auto model = Model::load(record.dir, meta);
  const Tensor x = reference("/X/rf_classifier", DType::Float32);
  const Tensor expected = reference("/expected/rf_classifier", DType::Float64);
  EXPECT_LE(max_difference(model->runtime().run(x), expected), 1e-15);
}

// Bad attributes, written into a good graph.
class OnnxMlErrors : public ::testing::Test {
 protected:
  onnx::Graph graph(const char* name = "modes_sum") {
    return onnx::load_graph(onnx_ml_dir() / (std::string(name) + ".onnx"));
  }
  static onnx::Attribute& attr(onnx::Graph& g, const std::string& name) { return g.nodes[0].attributes[name]; }
  static void expect_refused(const onnx::Graph& g, const std::string& id, std::vector<std::string> mentions) {
    expect_error([&] { onnx::translate_tree_ensemble(g, "bad.onnx"); }, id, mentions);
  }
};

TEST_F(OnnxMlErrors, UnknownModeIsRefusedByName) {
  auto g = graph();
  for (auto& m : attr(g, "nodes_modes").strings)
    if (m != "LEAF") m = "BRANCH_MEMBER";
  expect_refused(g, "model.onnxml.unsupported", {"nodes_modes", "BRANCH_MEMBER", "BRANCH_NEQ"});
}

TEST_F(OnnxMlErrors, InconsistentAttributeLengthsAreRefused) {
  auto g = graph();
  attr(g, "nodes_values").floats.pop_back();
  expect_refused(g, "model.onnxml.invalid", {"nodes_values", "entries for"});
  g = graph();
  attr(g, "target_weights").floats.push_back(1.0f);
  expect_refused(g, "model.onnxml.invalid", {"target_weights", "differ in length"});
}

TEST_F(OnnxMlErrors, UnknownPostTransformAndProbitAreRefused) {
  for (const char* post : {"PROBIT", "SOFTPLUS"}) {
    auto g = graph();
    attr(g, "post_transform") = {onnx::Attribute::Kind::String, 0, 0, post};
    expect_refused(g, "model.onnxml.unsupported", {"post_transform", post});
  }
  auto g = graph();
  attr(g, "aggregate_function") = {onnx::Attribute::Kind::String, 0, 0, "MEDIAN"};
  expect_refused(g, "model.onnxml.unsupported", {"aggregate_function", "MEDIAN"});
}

TEST_F(OnnxMlErrors, IdsThatNameNothingTwoRootsAndSharedChildrenAreRefused) {
  auto g = graph();
  attr(g, "target_ids").ints[0] = 7;
  expect_refused(g, "model.onnxml.invalid", {"target_ids", "column 7 is outside [0, 3)"});
  g = graph();
  attr(g, "target_nodeids").ints[0] = 100000;
  expect_refused(g, "model.onnxml.invalid", {"names no node"});
  g = graph();
  auto& modes = attr(g, "nodes_modes").strings;
  const std::size_t split = static_cast<std::size_t>(std::find_if(modes.begin(), modes.end(),
                                                                  [](auto& m) { return m != "LEAF"; }) -
                                                     modes.begin());
  attr(g, "nodes_falsenodeids").ints[split] = attr(g, "nodes_truenodeids").ints[split];
  expect_refused(g, "model.onnxml.invalid", {"more than one parent"});
  g = graph();
  attr(g, "nodes_truenodeids").ints[split] = 99999;
  expect_refused(g, "model.onnxml.invalid", {"nodes_truenodeids", "is not a node of the tree"});
  g = graph();
  attr(g, "nodes_featureids").ints[split] = 6;
  expect_refused(g, "model.onnxml.invalid", {"nodes_featureids", "feature 6 is outside [0, 6)"});
  g = graph();
  attr(g, "nodes_values").floats[split] = NAN;
  expect_refused(g, "model.onnxml.invalid", {"threshold is NaN"});
}

TEST_F(OnnxMlErrors, WeightsOnSplitsAndBaseValuesOfTheWrongLengthAreRefused) {
  auto g = graph();
  auto& modes = attr(g, "nodes_modes").strings;
  const auto k = static_cast<std::size_t>(
      std::find_if(modes.begin(), modes.end(), [](auto& m) { return m != "LEAF"; }) - modes.begin());
  attr(g, "target_treeids").ints[0] = attr(g, "nodes_treeids").ints[k];
  attr(g, "target_nodeids").ints[0] = attr(g, "nodes_nodeids").ints[k];
  expect_refused(g, "model.onnxml.invalid", {"is on a split, not a leaf"});
  g = graph();
  attr(g, "base_values").floats.push_back(0.0f);
  expect_refused(g, "model.onnxml.invalid", {"base_values", "4 values for 3 output columns"});
}

TEST_F(OnnxMlErrors, DoubleThresholdTensorsUnknownAttributesAndOtherOperatorsAreRefused) {
  auto g = graph();
  attr(g, "nodes_values_as_tensor") = {onnx::Attribute::Kind::Tensor};
  expect_refused(g, "model.onnxml.unsupported", {"nodes_values_as_tensor", "float32"});
  g = graph();
  attr(g, "nodes_colour") = {onnx::Attribute::Kind::Ints};
  expect_refused(g, "model.onnxml.unsupported", {"nodes_colour", "unknown attribute"});
  g = graph();
  onnx::Node relu;
  relu.op_type = "Relu";
  relu.name = "relu";
  relu.inputs = {"Y"};
  relu.outputs = {"Z"};
  g.nodes.push_back(relu);
  expect_refused(g, "model.onnxml.unsupported", {"other operators (Relu)"});
  g = graph();
  g.inputs[0].type_name = "DOUBLE";
  expect_refused(g, "model.onnxml.unsupported", {"DOUBLE", "float32 rows"});
}

TEST_F(OnnxMlErrors, BinarySingleScoreClassifierIsRefused) {
  auto g = graph("rf_classifier");
  attr(g, "classlabels_strings").strings.pop_back();  // two labels
  auto& ids = attr(g, "class_ids").ints;
  for (auto& id : ids) id = 0;
  expect_refused(g, "model.onnxml.unsupported", {"one class of two", "binary"});
}

TEST_F(OnnxMlErrors, ATreeWithoutOneRootIsRefused) {
  auto g = graph("rf_classifier");
  // A leaf no split names, added to tree 0: a second root.
  for (const auto& [name, v] : std::vector<std::pair<const char*, std::int64_t>>{
           {"nodes_treeids", 0}, {"nodes_nodeids", 99999}, {"nodes_featureids", 0},
           {"nodes_truenodeids", 0}, {"nodes_falsenodeids", 0}})
    attr(g, name).ints.push_back(v);
  attr(g, "nodes_values").floats.push_back(0.0f);
  attr(g, "nodes_modes").strings.push_back("LEAF");
  expect_refused(g, "model.onnxml.invalid", {"tree 0 has 2 roots"});
}

}  // namespace
}  // namespace beamflow::models
