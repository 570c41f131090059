// The model formats and preprocessing steps this build runs. Adding one is a
// runtime (or preprocessor) class and a line here.
#include "jobs/models/composition.hpp"
#include "jobs/models/forest_runtime.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/onnx/detector_image.hpp"
#include "jobs/onnx/runtime.hpp"
#include "jobs/onnx/tree_ensemble.hpp"

namespace beamflow::models {

const std::vector<ModelFormat>& model_formats() {
  static const std::vector<ModelFormat> formats = {
      {kForestFormat, "tree ensembles (random forests, gradient boosting) in beamflow's flat HDF5 layout",
       is_forest_file, load_forest_runtime},
      // Before "onnx": an ONNX-ML tree ensemble is an ONNX file too.
      {onnx::kOnnxMlFormat,
       "tree ensembles as ONNX-ML TreeEnsembleClassifier/Regressor, run by the forest kernel (float32 thresholds)",
       onnx::is_onnx_ml_file, onnx::load_tree_ensemble_runtime},
      {onnx::kOnnxFormat, "neural networks (ONNX, float32; operators run by beamflow's Kokkos kernels)",
       onnx::is_onnx_file, onnx::load_onnx_runtime},
  };
  return formats;
}

const std::vector<PreprocessorKind>& preprocessor_kinds() {
  static const std::vector<PreprocessorKind> kinds = {
      {kMagpiePreprocessing, "Magpie-style composition features from an element property table",
       load_magpie_preprocessor},
      {onnx::kDetectorImagePreprocessing,
       "detector frames: log scale and bilinear resize to the network's input",
       onnx::load_detector_image_preprocessor},
  };
  return kinds;
}

}  // namespace beamflow::models
