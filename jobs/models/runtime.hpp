#pragma once
// The interface every model format implements, the one every preprocessing
// step implements, and their by-name registries (formats.cpp lists them: a
// new format is one runtime class and one line there).
//
//   format "forest-hdf5"  tree ensembles, jobs/models/forest_runtime.cpp
//   format "onnx"         neural networks (added by the ONNX runtime)
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/models/tensor.hpp"

namespace beamflow::models {

// What a model's run method takes and returns.
struct Signature {
  TensorSpec input;
  TensorSpec output;
  std::string method;  // what it computes, e.g. "predict_proba"
};

// A loaded model of one format, ready to evaluate batches. Implementations
// are immutable after construction; run() may be called from several
// threads.
class ModelRuntime {
 public:
  virtual ~ModelRuntime() = default;
  // Taken from the model file alone (metadata may add descriptions).
  virtual const Signature& signature() const = 0;
  // Format-specific facts for `beamflow model describe` (trees, nodes,
  // opset, operators, ...).
  virtual Json describe() const = 0;
  // `batch` matches signature().input (the caller checks with
  // check_tensor); returns a batch matching signature().output. Throws
  // model.input.* for values the model cannot take.
  virtual Tensor run(const Tensor& batch) const = 0;
};

struct ModelFormat {
  std::string name;  // the metadata's beamflow.format
  std::string description;
  // True when the file's content is of this format (magic, attributes).
  std::function<bool(const std::filesystem::path& file)> recognizes;
  // Loads a model file; throws model.* errors naming the file.
  std::function<std::unique_ptr<ModelRuntime>(const std::filesystem::path& file)> load;
};

// Every format this build runs: the built-in ones (forest-hdf5), then those
// registered, in registration order (detect_format tries them in turn).
const std::vector<ModelFormat>& model_formats();
// Adds a format built on this library (jobs/onnx registers its own, so that
// models never includes the formats above it). A name registered again
// replaces the earlier entry in place. Call before any model is loaded.
void register_model_format(ModelFormat format);
// Throws model.format.unknown naming the formats there are.
const ModelFormat& model_format(const std::string& name);
// The format whose recognizes() accepts `file`; nullptr when none does.
const ModelFormat* detect_format(const std::filesystem::path& file);

// Turns what users send into a model's input tensor: JSON documents (a list
// of compositions) or a tensor read from HDF5 (a detector image stack).
class Preprocessor {
 public:
  virtual ~Preprocessor() = default;
  // The raw input a user sends, as a DLHub argument type.
  virtual Json input_spec() const = 0;
  virtual Json describe() const = 0;
  // Throws model.input.* naming the offending element below `where`.
  virtual Tensor apply(const Json& inputs, const std::string& where) const = 0;
  // Throws model.input.dtype unless overridden: the step takes JSON only.
  virtual Tensor apply(const Tensor& inputs) const;
};

struct PreprocessorKind {
  std::string name;  // the metadata's beamflow.preprocessing.name
  std::string description;
  // `spec` is beamflow.preprocessing; files it names live in `model_dir`
  // (and are sha256-checked with the model's other files). Throws
  // model.metadata.invalid naming the field below `pointer`.
  std::function<std::unique_ptr<Preprocessor>(const Json& spec, const std::filesystem::path& model_dir,
                                              const std::string& pointer)>
      load;
};

const std::vector<PreprocessorKind>& preprocessor_kinds();
// As register_model_format, for preprocessing steps.
void register_preprocessor_kind(PreprocessorKind kind);
// Throws model.metadata.invalid (field `pointer`) for an unknown name.
const PreprocessorKind& preprocessor_kind(const std::string& name, const std::string& pointer);

// Initialises Kokkos for the process on first call (the model commands and
// the infer action run kernels without the MPI runtime of the tomography
// jobs); finalised at exit after every model cached by then is gone.
void ensure_kokkos();

}  // namespace beamflow::models
