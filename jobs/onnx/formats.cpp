#include "jobs/onnx/formats.hpp"

#include "jobs/models/runtime.hpp"
#include "jobs/onnx/detector_image.hpp"
#include "jobs/onnx/runtime.hpp"
#include "jobs/onnx/tree_ensemble.hpp"

namespace beamflow::onnx {

void register_onnx_formats() {
  models::register_model_format(
      {kOnnxMlFormat,
       "tree ensembles as ONNX-ML TreeEnsembleClassifier/Regressor, run by the forest kernel (float32 thresholds)",
       is_onnx_ml_file, load_tree_ensemble_runtime});
  models::register_model_format({kOnnxFormat,
                                 "neural networks (ONNX, float32; operators run by beamflow's Kokkos kernels)",
                                 is_onnx_file, load_onnx_runtime});
  models::register_preprocessor_kind({kDetectorImagePreprocessing,
                                      "detector frames: log scale and bilinear resize to the network's input",
                                      load_detector_image_preprocessor});
}

}  // namespace beamflow::onnx
