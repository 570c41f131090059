#pragma once
// Format "forest-hdf5": tree ensembles read from the flat HDF5 layout
// (forest_file.hpp) and evaluated by kernels/forest.hpp, bit-identical to
// scikit-learn's predict_proba (classifiers) and predict (regressors).
#include <filesystem>
#include <memory>

#include "jobs/models/forest_file.hpp"
#include "jobs/models/runtime.hpp"

namespace beamflow::models {

inline constexpr const char* kForestFormat = "forest-hdf5";

// Builds the kernel's ensemble (children made adjacent, breadth-first, so
// the upper levels of a tree share cache lines). Input rows must be finite:
// run() throws model.input.nonfinite naming the first NaN or infinity, as
// scikit-learn refuses them; without `finite_inputs_only` they are
// compared as they are (NaN never exceeds a threshold, so it takes the
// first child: the ONNX-ML import places its missing-value branch there).
std::unique_ptr<ModelRuntime> make_forest_runtime(const ForestFile& forest, bool finite_inputs_only = true);
std::unique_ptr<ModelRuntime> load_forest_runtime(const std::filesystem::path& file);

}  // namespace beamflow::models
