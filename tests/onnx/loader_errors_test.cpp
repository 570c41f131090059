// Every model.onnx.* error id, and the input errors of the "onnx" format,
// with the message a user reads. Models are built in memory with the ONNX
// protobuf classes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include <onnx/onnx_pb.h>

#include "core/error.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/onnx/runtime.hpp"

namespace beamflow::onnx {
namespace {

// x [null, 3] -> op -> y, with optional attributes set by the caller.
::onnx::ModelProto single_node(const std::string& op, std::int64_t opset = 13) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("t");
  for (auto [info, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    info->set_name(name);
    auto* tt = info->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto_DataType_FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("batch");
    tt->mutable_shape()->add_dim()->set_dim_value(3);
  }
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("the_node");
  n->add_input("x");
  n->add_output("y");
  return m;
}

Graph parse(const ::onnx::ModelProto& m) { return parse_graph(m.SerializeAsString(), "mem.onnx"); }

template <class F>
void expect_error(F&& f, const std::string& id, const std::string& fragment) {
  try {
    f();
    FAIL() << "expected " << id;
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(OnnxLoader, UnsupportedOperatorIsRefusedAtLoadWithItsNameAndNode) {
  expect_error([] { Program p(parse(single_node("Erf"))); }, "model.onnx.unsupported_op",
               "operator Erf (node 'the_node') is not supported");
}

TEST(OnnxLoader, OperatorOfAnotherDomainIsRefused) {
  auto m = single_node("LinearClassifier");
  m.mutable_graph()->mutable_node(0)->set_domain("ai.onnx.ml");
  expect_error([&] { Program p(parse(m)); }, "model.onnx.unsupported_op", "ai.onnx.ml.LinearClassifier");
}

TEST(OnnxLoader, UnknownAttributeIsRefused) {
  auto m = single_node("Relu");
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("shiny");
  a->set_type(::onnx::AttributeProto_AttributeType_INT);
  a->set_i(1);
  expect_error([&] { Program p(parse(m)); }, "model.onnx.unsupported_attribute", "attribute 'shiny' is not supported");
}

TEST(OnnxLoader, TrainingModeBatchNormIsRefused) {
  auto m = single_node("BatchNormalization", 15);
  auto* n = m.mutable_graph()->mutable_node(0);
  for (const char* in : {"s", "b", "m", "v"}) n->add_input(in);
  auto* a = n->add_attribute();
  a->set_name("training_mode");
  a->set_type(::onnx::AttributeProto_AttributeType_INT);
  a->set_i(1);
  for (const char* in : {"s", "b", "m", "v"}) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(in);
    t->set_data_type(::onnx::TensorProto_DataType_FLOAT);
    t->add_dims(3);
    for (int k = 0; k < 3; ++k) t->add_float_data(1.0f);
  }
  expect_error([&] { Program p(parse(m)); }, "model.onnx.unsupported_attribute", "training_mode=1");
}

TEST(OnnxLoader, GarbageIsNotAModel) {
  expect_error([] { parse_graph("this is not protobuf \xff\xff\xff", "junk.onnx"); }, "model.onnx.parse",
               "junk.onnx: not an ONNX model");
}

TEST(OnnxLoader, TruncatedFileIsNotAModel) {
  const std::string bytes = single_node("Relu").SerializeAsString();
  expect_error([&] { parse_graph(bytes.substr(0, bytes.size() - 5), "cut.onnx"); }, "model.onnx.parse", "cut.onnx");
}

TEST(OnnxLoader, OpsetOutsideTheImplementedRangeIsRefused) {
  expect_error([] { parse(single_node("Relu", 18)); }, "model.onnx.opset", "opset 18 is outside");
  expect_error([] { parse(single_node("Relu", 0)); }, "model.onnx.opset", "opset 0 is outside");
}

TEST(OnnxLoader, ADefaultDomainNodeInAGraphImportingOnlyOtherDomainsIsRefused) {
  auto m = single_node("Relu");
  m.mutable_opset_import(0)->set_domain("ai.onnx.ml");
  m.mutable_opset_import(0)->set_version(3);
  expect_error([&] { parse(m); }, "model.onnx.opset", "node 'the_node' (Relu) is in the default domain, which the model does not import");
  m.mutable_graph()->mutable_node(0)->set_domain("ai.onnx.ml");  // an ai.onnx.ml-only graph loads
  const Graph g = parse(m);
  EXPECT_EQ(g.opset, 0);
  EXPECT_EQ(g.domain_opsets.at("ai.onnx.ml"), 3);
}

TEST(OnnxLoader, DanglingInputIsAGraphError) {
  auto m = single_node("Add");
  m.mutable_graph()->mutable_node(0)->add_input("nowhere");
  expect_error([&] { parse(m); }, "model.onnx.graph", "reads 'nowhere'");
}

TEST(OnnxLoader, CycleIsAGraphError) {
  auto m = single_node("Relu");
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_input(0, "z");
  auto* n2 = g->add_node();
  n2->set_op_type("Relu");
  n2->set_name("second");
  n2->add_input("y");
  n2->add_output("z");
  expect_error([&] { parse(m); }, "model.onnx.graph", "or a cycle");
}

TEST(OnnxLoader, NonFloatTensorsAreRefused) {
  auto m = single_node("Relu");
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      ::onnx::TensorProto_DataType_UINT8);
  expect_error([&] { Program p(parse(m)); }, "model.onnx.dtype", "graph input 'x' is UINT8");
  auto w = single_node("Relu");
  auto* t = w.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto_DataType_DOUBLE);
  expect_error([&] { parse(w); }, "model.onnx.dtype", "tensor 'w' is DOUBLE");
}

TEST(OnnxLoader, RawDataOfTheWrongSizeIsCorrupt) {
  auto m = single_node("Relu");
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto_DataType_FLOAT);
  t->add_dims(4);
  t->set_raw_data(std::string(12, '\0'));
  expect_error([&] { parse(m); }, "model.onnx.parse", "holds 12 bytes for 4 elements");
}

TEST(OnnxLoader, ServedModelsNeedOneInputAndOneOutput) {
  auto m = single_node("Add");
  auto* g = m.mutable_graph();
  g->add_input()->CopyFrom(g->input(0));
  g->mutable_input(1)->set_name("x2");
  g->mutable_node(0)->add_input("x2");
  expect_error([&] { make_onnx_runtime(parse(m)); }, "model.onnx.signature", "this graph has 2 inputs");
}

TEST(OnnxRuntime, RunsAndChecksInputs) {
  auto rt = make_onnx_runtime(parse(single_node("Relu")));
  models::Tensor x(models::DType::Float32, {2, 3});
  auto d = x.data<float>();
  for (int i = 0; i < 6; ++i) d[i] = static_cast<float>(i) - 2.5f;
  const models::Tensor y = rt->run(x);
  ASSERT_EQ(y.shape(), (models::Shape{2, 3}));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(y.data<float>()[5], 2.5f);
  EXPECT_EQ(rt->describe()["operators"]["Relu"], 1);

  models::Tensor wrong(models::DType::Float32, {2, 4});
  expect_error([&] { rt->run(wrong); }, "model.input.shape", "[2, 4]");
  d[4] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { rt->run(x); }, "model.input.nonfinite", "input element 4 (row 1) is NaN");
}

TEST(OnnxRuntime, KernelShapeErrorsNameTheNode) {
  auto m = single_node("MatMul");
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto_DataType_FLOAT);
  t->add_dims(4);
  t->add_dims(3);
  for (int k = 0; k < 12; ++k) t->add_float_data(1.0f);
  m.mutable_graph()->mutable_node(0)->add_input("w");
  Program p(parse(m));
  HostTensor x;
  x.shape = {2, 3};
  x.f.assign(6, 1.0f);
  expect_error([&] { p.run({x}); }, "model.input.shape", "node 'the_node' (MatMul): inner extents differ");
}

TEST(OnnxRuntime, FormatIsRegisteredAndRecognisesFiles) {
  const auto& fmt = models::model_format("onnx");
  const auto dir = std::filesystem::temp_directory_path() / ("beamflow_onnx_fmt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "m.onnx", std::ios::binary) << single_node("Sigmoid").SerializeAsString();
    std::ofstream(dir / "junk.onnx", std::ios::binary) << "junk";
  }
  EXPECT_TRUE(fmt.recognizes(dir / "m.onnx"));
  EXPECT_FALSE(fmt.recognizes(dir / "junk.onnx"));
  EXPECT_EQ(models::detect_format(dir / "m.onnx"), &fmt);
  EXPECT_EQ(fmt.load(dir / "m.onnx")->signature().input.shape_string(), "[null, 3]");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace beamflow::onnx
