// The ONNX backend's per-operator node tests (libonnx-testdata), one gtest
// per case directory whose operators beamflow implements: model.onnx and
// test_data_set_N/{input,output}_K.pb, compared as ONNX's backend runner
// does (rtol 1e-3, atol 1e-7). A case the loader refuses (an attribute value
// or element type we do not run) is skipped with the loader's message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "jobs/onnx/ops.hpp"
#include "jobs/onnx/runtime.hpp"

namespace beamflow::onnx {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = BEAMFLOW_ONNX_TESTDATA;

// Case directories all of whose nodes are supported operators. Cases that
// mix in other operators (the *_expanded function bodies) test those.
std::vector<std::string> supported_cases() {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(kCases, ec)) return names;
  const std::vector<std::string> ops = supported_operators();
  const std::set<std::string> supported(ops.begin(), ops.end());
  for (const auto& entry : fs::directory_iterator(kCases)) {
    const fs::path model = entry.path() / "model.onnx";
    if (!fs::exists(model)) continue;
    try {
      const std::vector<std::string> used = list_operators(model);
      if (!used.empty() && std::all_of(used.begin(), used.end(), [&](const auto& op) { return supported.count(op); }))
        names.push_back(entry.path().filename().string());
    } catch (const Error&) {
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int k = 0;; ++k) {
    const fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

class OnnxNodeCase : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeCase, MatchesReference) {
  const fs::path dir = kCases / GetParam();
  std::unique_ptr<Program> program;
  try {
    program = std::make_unique<Program>(load_graph(dir / "model.onnx"));
  } catch (const Error& e) {
    const std::string id = e.id();
    ASSERT_TRUE(id == "model.onnx.unsupported_attribute" || id == "model.onnx.dtype" || id == "model.onnx.opset")
        << e.what();
    GTEST_SKIP() << "refused at load: " << e.what();
  }
  int sets = 0;
  for (const auto& set : fs::directory_iterator(dir)) {
    if (!set.is_directory()) continue;
    ++sets;
    std::vector<HostTensor> inputs;
    for (const fs::path& p : numbered(set.path(), "input_")) inputs.push_back(load_tensor_file(p));
    const std::vector<fs::path> expected_files = numbered(set.path(), "output_");
    const std::vector<HostTensor> outputs = program->run(inputs);
    ASSERT_EQ(outputs.size(), expected_files.size());
    double worst = 0;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const HostTensor expected = load_tensor_file(expected_files[k]);
      ASSERT_EQ(outputs[k].type, expected.type) << "output " << k;
      ASSERT_EQ(outputs[k].shape, expected.shape) << "output " << k;
      if (expected.type == ElemType::Int64) {
        EXPECT_EQ(outputs[k].i, expected.i);
        continue;
      }
      for (std::size_t i = 0; i < expected.f.size(); ++i) {
        const double got = outputs[k].f[i], want = expected.f[i];
        const double err = std::abs(got - want);
        ASSERT_LE(err, 1e-7 + 1e-3 * std::abs(want)) << set.path().filename() << " output " << k << " element " << i
                                                     << ": got " << got << ", expected " << want;
        if (want != 0) worst = std::max(worst, err / std::abs(want));
      }
    }
    RecordProperty("max_relative_error_" + set.path().filename().string(), std::to_string(worst));
  }
  EXPECT_GT(sets, 0) << "no test_data_set_* in " << dir;
}

INSTANTIATE_TEST_SUITE_P(LibOnnxTestdata, OnnxNodeCase, ::testing::ValuesIn(supported_cases()),
                         [](const auto& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeCase);

// The suite must find the cases, or the conformance claim is empty.
TEST(OnnxConformance, CasesArePresent) {
  ASSERT_TRUE(fs::is_directory(kCases)) << kCases << " missing: install libonnx-testdata (scripts/install-deps.sh)";
  const auto cases = supported_cases();
  EXPECT_GT(cases.size(), 60u);
  for (const char* must : {"test_conv_with_autopad_same", "test_maxpool_2d_ceil", "test_averagepool_2d_pads_count_include_pad",
                           "test_gemm_all_attributes", "test_reshape_negative_dim", "test_softmax_axis_0",
                           "test_batchnorm_epsilon", "test_transpose_all_permutations_0"})
    EXPECT_NE(std::find(cases.begin(), cases.end(), must), cases.end()) << must;
}

}  // namespace
}  // namespace beamflow::onnx
