// The ONNX tests load models through the hub, which knows ONNX only once the
// executable (here: this test binary) registers it; registration is what the
// beamflow executable does at start.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/models/runtime.hpp"
#include "jobs/onnx/formats.hpp"

namespace {
const bool registered = (beamflow::onnx::register_onnx_formats(), true);

TEST(OnnxFormats, RegisteredAfterTheForestAndOnnxMlBeforeOnnx) {
  ASSERT_TRUE(registered);
  beamflow::onnx::register_onnx_formats();  // again: idempotent
  std::vector<std::string> names;
  for (const auto& f : beamflow::models::model_formats()) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"forest-hdf5", "onnx-ml", "onnx"}));
  EXPECT_NO_THROW(beamflow::models::preprocessor_kind("detector-image", "/beamflow/preprocessing/name"));
}
}  // namespace
