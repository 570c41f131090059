// The model formats and preprocessing steps this build runs. Adding one is a
// runtime (or preprocessor) class and a line here.
#include "jobs/models/composition.hpp"
#include "jobs/models/forest_runtime.hpp"
#include "jobs/models/runtime.hpp"

namespace beamflow::models {

const std::vector<ModelFormat>& model_formats() {
  static const std::vector<ModelFormat> formats = {
      {kForestFormat, "tree ensembles (random forests, gradient boosting) in beamflow's flat HDF5 layout",
       is_forest_file, load_forest_runtime},
  };
  return formats;
}

const std::vector<PreprocessorKind>& preprocessor_kinds() {
  static const std::vector<PreprocessorKind> kinds = {
      {kMagpiePreprocessing, "Magpie-style composition features from an element property table",
       load_magpie_preprocessor},
  };
  return kinds;
}

}  // namespace beamflow::models
