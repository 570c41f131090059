// Preprocessing "detector-image" (jobs/onnx/detector_image.cpp over
// kernels/detector_image.cpp) against PyTorch: log1p(max(counts, 0)) * scale
// then F.interpolate(mode="bilinear", align_corners=False), on odd sizes, up
// and down, with negative, NaN and infinite counts (documented to count as
// 0); references made at test time by detector_image_reference.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../support/expect_error.hpp"
#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "jobs/onnx/detector_image.hpp"

namespace beamflow::onnx {
namespace {

using models::DType;
using models::Tensor;

std::unique_ptr<models::Preprocessor> preprocessor(const Json& spec) {
  return load_detector_image_preprocessor(spec, {}, "/beamflow/preprocessing");
}

Tensor read(const std::filesystem::path& file, const std::string& dataset, DType type) {
  models::DatasetSource s(file, dataset);
  return s.read_rows(0, s.rows(), type);
}

TEST(DetectorImage, MatchesTorchInterpolateOnOddSizesAndBadPixels) {
  test::ScratchDir dir;
  const auto ref = dir.path() / "ref.h5";
  test::ProcessOptions options;
  options.merge_stderr = true;
  const test::ProcessResult r = test::run_process(
      {"/usr/bin/python3", std::string(BEAMFLOW_SOURCE_DIR) + "/tests/onnx/detector_image_reference.py", ref.string()},
      options);
  const std::string& log = r.out;
  ASSERT_EQ(r.exit_code, 0) << log;

  const Tensor cases = read(ref, "/cases", DType::Float64);
  const auto c = cases.data<double>();
  ASSERT_EQ(cases.shape()[0], 7);
  std::size_t pixels = 0;
  double worst_exact = 0, worst_torch = 0;  // in units of the bound below
  for (std::int64_t i = 0; i < cases.shape()[0]; ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const auto at = [&](int k) { return c[static_cast<std::size_t>(3 * i + k)]; };
    const auto pre = preprocessor({{"name", "detector-image"},
                                   {"log_scale", at(0)},
                                   {"size", {std::int64_t(at(1)), std::int64_t(at(2))}}});
    const Tensor frames = read(ref, "/frames/" + std::to_string(i), DType::Float32);
    const Tensor torch32 = read(ref, "/expected/" + std::to_string(i), DType::Float32);
    const Tensor exact = read(ref, "/exact/" + std::to_string(i), DType::Float64);
    const Tensor got = pre->apply(frames);
    ASSERT_EQ(got.shape(), torch32.shape());
    const auto g = got.data<float>(), t = torch32.data<float>();
    const auto e = exact.data<double>();
    // The float32 source index s * (y + 0.5) - 0.5 is off by up to a few
    // ulps of the frame size; that moves a weight by as much, times the
    // largest pixel value. Plus float32 rounding of the value itself.
    double top = 0;
    for (double v : e) top = std::max(top, std::fabs(v));
    const double size = static_cast<double>(std::max(frames.shape()[1], frames.shape()[2]));
    const double index_error = 4 * std::ldexp(size, -24) * top;
    for (std::size_t k = 0; k < e.size(); ++k) {
      ASSERT_TRUE(std::isfinite(g[k])) << "pixel " << k;
      const double bound = index_error + 4e-7 * std::fabs(e[k]) + 1e-30;
      worst_exact = std::max(worst_exact, std::fabs(g[k] - e[k]) / bound);
      worst_torch = std::max(worst_torch, std::fabs(double(g[k]) - t[k]) / (2 * bound));
    }
    pixels += e.size();
  }
  EXPECT_LE(worst_exact, 1.0);
  EXPECT_LE(worst_torch, 1.0);
  std::cout << pixels << " output pixels; worst error vs torch float64 " << worst_exact
            << " of the bound, vs torch float32 " << worst_torch << " of twice the bound\n";
}

TEST(DetectorImage, JsonFramesWithAChannelAxisGiveTheSameBatch) {
  const auto pre = preprocessor({{"name", "detector-image"}, {"log_scale", 1.0}, {"size", {2, 2}}});
  const Tensor a = pre->apply(Json::parse("[[[0, 1], [3, 7]]]"), "/inputs");
  const Tensor b = pre->apply(Json::parse("[[[[0, 1], [3, 7]]]]"), "/inputs");
  ASSERT_EQ(a.shape(), (models::Shape{1, 1, 2, 2}));
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.data<float>();
  EXPECT_FLOAT_EQ(x[0], 0.0f);
  EXPECT_FLOAT_EQ(x[3], std::log1p(7.0f));
}

TEST(DetectorImage, FramesOfTheWrongRankAreRefused) {
  const auto pre = preprocessor({{"name", "detector-image"}, {"log_scale", 0.1}, {"size", {8, 8}}});
  test::expect_error([&] { pre->apply(Json::parse("[[1, 2], [3, 4]]"), "/inputs"); }, "model.input.shape",
                     {"[n][height][width]", "[2, 2]"});
  test::expect_error([&] { pre->apply(Tensor(DType::Float32, {1, 2, 3, 3})); }, "model.input.shape",
                     {"[1, 2, 3, 3]"});
}

TEST(DetectorImage, BadSpecsAreRefusedNamingTheField) {
  for (const char* bad : {R"({"log_scale": -1, "size": [4, 4]})", R"({"log_scale": 0, "size": [4, 4]})",
                          R"({"size": [4, 4]})"})
    test::expect_error([&] { preprocessor(Json::parse(bad)); }, "model.metadata.invalid",
                       {"/beamflow/preprocessing/log_scale", "positive number"});
  for (const char* bad : {R"({"log_scale": 1, "size": [0, 4]})", R"({"log_scale": 1, "size": [4]})",
                          R"({"log_scale": 1, "size": [4, 20000]})", R"({"log_scale": 1, "size": [4.5, 4]})"})
    test::expect_error([&] { preprocessor(Json::parse(bad)); }, "model.metadata.invalid",
                       {"/beamflow/preprocessing/size", "[height, width]"});
}

}  // namespace
}  // namespace beamflow::onnx
