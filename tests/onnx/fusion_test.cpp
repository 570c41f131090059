// The execution plan (jobs/onnx/fusion.hpp): which chains fuse, which must
// not, and that the fused program computes what the node-by-node one does.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/onnx/fusion.hpp"
#include "jobs/onnx/runtime.hpp"

namespace beamflow::onnx {
namespace {

HostTensor random_host(Dims shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  HostTensor t;
  t.shape = std::move(shape);
  std::uniform_real_distribution<float> u(lo, hi);
  t.f.resize(static_cast<std::size_t>(t.size()));
  for (float& v : t.f) v = u(rng);
  return t;
}

Attribute ints(Dims v) {
  Attribute a;
  a.kind = Attribute::Kind::Ints;
  a.ints = std::move(v);
  return a;
}

Node node(std::string op, std::string name, std::vector<std::string> in, std::string out,
          std::map<std::string, Attribute> attrs = {}) {
  return Node{std::move(op), "", std::move(name), std::move(in), {std::move(out)}, std::move(attrs)};
}

ValueInfo value(std::string name, std::vector<std::optional<std::int64_t>> shape) {
  return ValueInfo{std::move(name), ElemType::Float32, "FLOAT", std::move(shape)};
}

// A residual network in miniature: Conv+BN+Relu; Conv+Add+Relu where the
// residual is a 1x1 conv that comes later in the file and the Add's result
// is also a graph output; a Conv+Add+LeakyRelu whose addend broadcasts.
Graph residual_graph() {
  std::mt19937 rng(4);
  Graph g;
  g.opset = 13;
  g.inputs = {value("x", {2, 4, 9, 10}), value("r", {1, 8, 1, 1})};
  g.outputs = {value("y", {2, 8, 9, 10}), value("t6", {2, 8, 9, 10})};
  g.initializers["w1"] = random_host({8, 4, 3, 3}, rng);
  g.initializers["b1"] = random_host({8}, rng);
  g.initializers["scale"] = random_host({8}, rng, 0.5f, 2.0f);
  g.initializers["beta"] = random_host({8}, rng);
  g.initializers["mean"] = random_host({8}, rng);
  g.initializers["var"] = random_host({8}, rng, 0.1f, 3.0f);
  g.initializers["w2"] = random_host({8, 8, 3, 3}, rng);
  g.initializers["w3"] = random_host({8, 4, 1, 1}, rng);
  g.initializers["w4"] = random_host({8, 8, 1, 1}, rng);
  const Attribute pads = ints({1, 1, 1, 1});
  Attribute eps;
  eps.kind = Attribute::Kind::Float;
  eps.f = 1e-3f;
  Attribute alpha = eps;
  alpha.f = 0.2f;
  g.nodes = {
      node("Conv", "c1", {"x", "w1", "b1"}, "t1", {{"pads", pads}}),
      node("BatchNormalization", "bn", {"t1", "scale", "beta", "mean", "var"}, "t2", {{"epsilon", eps}}),
      node("Relu", "relu1", {"t2"}, "t3"),
      node("Conv", "c2", {"t3", "w2"}, "t4", {{"pads", pads}}),
      node("Conv", "c3", {"x", "w3"}, "t5"),
      node("Add", "add", {"t4", "t5"}, "t6"),
      node("Relu", "relu2", {"t6"}, "t7"),
      node("Conv", "c4", {"t7", "w4"}, "t8"),
      node("Add", "add2", {"r", "t8"}, "t9"),
      node("LeakyRelu", "leaky", {"t9"}, "y", {{"alpha", alpha}}),
  };
  return g;
}

// The graph node by node, each operator on its own (no plan).
std::vector<HostTensor> run_unfused(const Graph& g, const std::vector<HostTensor>& inputs) {
  models::ensure_kokkos();
  Values v;
  for (const auto& [name, t] : g.initializers) v.set(name, to_kernel_tensor(t, name));
  for (std::size_t k = 0; k < inputs.size(); ++k) v.set(g.inputs[k].name, to_kernel_tensor(inputs[k], "in"));
  for (const Node& n : g.nodes) compile_node(n, g.opset)(v);
  std::vector<HostTensor> out;
  for (const ValueInfo& o : g.outputs) out.push_back(to_host_tensor(v.tensor(o.name)));
  return out;
}

TEST(OnnxFusion, PlanFusesChainsButKeepsValuesOthersRead) {
  const ExecutionPlan plan = plan_execution(residual_graph());
  std::vector<std::string> ops;
  for (const Node& n : plan.nodes) ops.push_back(n.op_type + ":" + n.outputs.at(0));
  EXPECT_EQ(ops, (std::vector<std::string>{"FusedConv:t3", "Conv:t5", "FusedConv:t6", "Relu:t7", "FusedConv:y"}));
  const Node& first = plan.nodes[0];
  EXPECT_EQ(first.domain, kFusedDomain);
  EXPECT_EQ(first.attributes.at("activation").s, "Relu");
  EXPECT_NE(first.inputs[1], "w1") << "batch norm folded into new weights";
  EXPECT_TRUE(plan.initializers.count(first.inputs[1]) && plan.initializers.count(first.inputs[2]));
  EXPECT_FALSE(plan.initializers.count("scale")) << "folded statistics are not uploaded";
  EXPECT_EQ(plan.nodes[2].inputs.at(3), "t5");  // the residual
  EXPECT_EQ(plan.nodes[2].attributes.at("activation").s, "Identity") << "t6 is a graph output";
  EXPECT_EQ(plan.nodes[4].attributes.at("activation").s, "LeakyRelu");
  EXPECT_FLOAT_EQ(plan.nodes[4].attributes.at("alpha").f, 0.2f);
  EXPECT_TRUE(plan.rows_independent);
}

TEST(OnnxFusion, RowsAreIndependentOnlyWhenEveryNodeShowsIt) {
  Graph g = residual_graph();
  std::mt19937 rng(1);
  g.initializers["per_row"] = random_host({2, 8, 1, 1}, rng);  // one addend per batch row
  g.nodes[8].inputs = {"per_row", "t8"};
  EXPECT_FALSE(plan_execution(g).rows_independent);
  Graph h = residual_graph();
  h.initializers["shape"] = HostTensor{ElemType::Int64, {1}, {}, {-1}};
  h.nodes.push_back(node("Reshape", "flat", {"y", "shape"}, "z"));
  h.outputs = {value("z", {std::nullopt})};
  EXPECT_FALSE(plan_execution(h).rows_independent);
}

TEST(OnnxFusion, FusedProgramMatchesNodeByNode) {
  const Graph g = residual_graph();
  std::mt19937 rng(8);
  const std::vector<HostTensor> inputs = {random_host({2, 4, 9, 10}, rng), random_host({1, 8, 1, 1}, rng)};
  const std::vector<HostTensor> want = run_unfused(g, inputs);
  const Program program(g);
  const std::vector<HostTensor> got = program.run(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].shape, want[o].shape);
    for (std::size_t i = 0; i < want[o].f.size(); ++i)
      ASSERT_NEAR(got[o].f[i], want[o].f[i], 1e-5 * (1 + std::abs(want[o].f[i]))) << "output " << o << " element " << i;
  }
}

TEST(OnnxFusion, FusedNodesInALoadedGraphAreRefused) {
  Graph g = residual_graph();
  g.nodes[0].domain = kFusedDomain;
  g.nodes[0].op_type = kFusedConv;
  try {
    Program p(std::move(g));
    FAIL();
  } catch (const beamflow::Error& e) {
    EXPECT_EQ(e.id(), "model.onnx.unsupported_op");
    EXPECT_NE(std::string(e.what()).find("operator beamflow.fused.FusedConv (node 'c1') is not supported"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace beamflow::onnx
