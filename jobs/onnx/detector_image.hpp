#pragma once
// Preprocessing "detector-image": a stack of detector frames [n][h][w] (or
// [n][1][h][w]) from HDF5 or JSON becomes the [n][1][H][W] float32 batch of
// an image network: log1p(max(counts, 0)) * log_scale, bilinearly resized
// (kernels/detector_image.hpp). Metadata:
//   "preprocessing": {"name": "detector-image", "log_scale": 0.1, "size": [256, 256]}
#include <filesystem>
#include <memory>

#include "jobs/models/runtime.hpp"

namespace beamflow::onnx {

inline constexpr const char* kDetectorImagePreprocessing = "detector-image";

// Throws model.metadata.invalid naming the field below `pointer`.
std::unique_ptr<models::Preprocessor> load_detector_image_preprocessor(const Json& spec,
                                                                       const std::filesystem::path& model_dir,
                                                                       const std::string& pointer);

}  // namespace beamflow::onnx
