// The shipped X-ray tagger (configs/models/xray-tagger, written by
// tools/train_xray_tagger.py): beamflow's outputs within 1e-5 relative of
// PyTorch's on the same preprocessed images (test_data_set_0, computed by
// PyTorch at export), and the file's operators and labels.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "jobs/onnx/runtime.hpp"

namespace beamflow::onnx {
namespace {

const std::filesystem::path kModel = std::filesystem::path(BEAMFLOW_SOURCE_DIR) / "configs/models/xray-tagger";

TEST(XrayTagger, MatchesPyTorchWithin1e5Relative) {
  auto rt = load_onnx_runtime(kModel / "model.onnx");
  const HostTensor in = load_tensor_file(kModel / "test_data_set_0/input_0.pb");
  const HostTensor want = load_tensor_file(kModel / "test_data_set_0/output_0.pb");
  ASSERT_EQ(in.shape.size(), 4u);
  ASSERT_GE(in.shape[0], 2) << "the reference should hold a batch";
  models::Tensor batch(models::DType::Float32, in.shape);
  std::copy(in.f.begin(), in.f.end(), batch.data<float>().begin());
  const models::Tensor got = rt->run(batch);
  ASSERT_EQ(got.shape(), want.shape);
  const auto g = got.data<float>();
  double worst = 0;
  for (std::size_t i = 0; i < want.f.size(); ++i) {
    const double rel = std::abs(double(g[i]) - want.f[i]) / std::max(std::abs(double(want.f[i])), 1e-30);
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 1e-5) << "output " << i << ": beamflow " << g[i] << ", PyTorch " << want.f[i];
  }
  RecordProperty("max_relative_error", std::to_string(worst));
  std::cout << "max relative error vs PyTorch: " << worst << "\n";
}

TEST(XrayTagger, SignatureAndLabelsComeFromTheFile) {
  auto rt = load_onnx_runtime(kModel / "model.onnx");
  EXPECT_EQ(rt->signature().input.shape_string(), "[null, 1, 256, 256]");
  EXPECT_EQ(rt->signature().output.shape_string(), "[null, 17]");
  ASSERT_EQ(rt->signature().output.labels.size(), 17u);
  EXPECT_EQ(rt->signature().output.labels[1], "beam off image");
  const Json ops = rt->describe()["operators"];
  for (const char* op : {"Conv", "MaxPool", "Add", "Relu", "GlobalAveragePool", "Gemm", "Sigmoid"})
    EXPECT_TRUE(ops.contains(op)) << op << " in " << ops.dump();
}

}  // namespace
}  // namespace beamflow::onnx
