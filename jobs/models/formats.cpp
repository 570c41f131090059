// The model formats and preprocessing steps this build runs: the ones
// models/ implements itself, then those registered by the libraries above it.
#include "jobs/models/composition.hpp"
#include "jobs/models/forest_runtime.hpp"
#include "jobs/models/runtime.hpp"

namespace beamflow::models {
namespace {

std::vector<ModelFormat>& formats() {
  static std::vector<ModelFormat> all = {
      {kForestFormat, "tree ensembles (random forests, gradient boosting) in beamflow's flat HDF5 layout",
       is_forest_file, load_forest_runtime},
  };
  return all;
}

std::vector<PreprocessorKind>& kinds() {
  static std::vector<PreprocessorKind> all = {
      {kMagpiePreprocessing, "Magpie-style composition features from an element property table",
       load_magpie_preprocessor},
  };
  return all;
}

template <class T>
void add_or_replace(std::vector<T>& list, T item) {
  for (auto& existing : list) {
    if (existing.name == item.name) {
      existing = std::move(item);
      return;
    }
  }
  list.push_back(std::move(item));
}

}  // namespace

const std::vector<ModelFormat>& model_formats() { return formats(); }
void register_model_format(ModelFormat format) { add_or_replace(formats(), std::move(format)); }

const std::vector<PreprocessorKind>& preprocessor_kinds() { return kinds(); }
void register_preprocessor_kind(PreprocessorKind kind) { add_or_replace(kinds(), std::move(kind)); }

}  // namespace beamflow::models
