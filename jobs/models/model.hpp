#pragma once
// A published model loaded for use: its metadata, its runtime (by format)
// and its preprocessing, with every file checked against the sha256 the
// metadata records. Immutable once loaded, so one instance is shared by all
// requests of a process (cache.hpp).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "jobs/models/runtime.hpp"

namespace beamflow::models {

// NAME or NAME@VERSION.
struct ModelRef {
  std::string name;
  std::optional<std::string> version;

  // Throws model.name.invalid (bad name, or a version that is not semantic).
  static ModelRef parse(const std::string& text);
  std::string str() const { return version ? name + "@" + *version : name; }
};

class Model {
 public:
  // `dir` holds the files metadata.beamflow.files lists; throws
  // model.file.missing, model.file.checksum (a file differs from its
  // sha256: corrupted or truncated), model.format.unknown, model.forest.*
  // and model.metadata.invalid (preprocessing).
  static std::shared_ptr<const Model> load(const std::filesystem::path& dir, Json metadata);

  const std::string& name() const noexcept { return m_name; }
  const std::string& version() const noexcept { return m_version; }
  std::string ref() const { return m_name + "@" + m_version; }
  const Json& metadata() const noexcept { return m_metadata; }
  const std::filesystem::path& dir() const noexcept { return m_dir; }
  const ModelRuntime& runtime() const noexcept { return *m_runtime; }
  const Preprocessor* preprocessor() const noexcept { return m_preprocessor.get(); }
  // The output labels: the metadata's, else the model file's.
  const std::vector<std::string>& labels() const noexcept { return m_labels; }

  // The runtime's input batch from inputs as sent in JSON (the
  // preprocessing's documents, or nested arrays; `where` prefixes JSON
  // pointers in errors) or from a batch read from HDF5 (preprocessed, or
  // cast to the input dtype). Checked against the input signature.
  Tensor prepare(const Json& inputs, const std::string& where = "/inputs") const;
  Tensor prepare(const Tensor& batch) const;
  // Runs a prepared batch.
  Tensor run(const Tensor& prepared) const { return m_runtime->run(prepared); }
  Tensor predict(const Json& inputs, const std::string& where = "/inputs") const {
    return run(prepare(inputs, where));
  }
  Tensor predict(const Tensor& batch) const { return run(prepare(batch)); }

 private:
  Model() = default;
  std::string m_name, m_version;
  Json m_metadata;
  std::filesystem::path m_dir;
  std::unique_ptr<ModelRuntime> m_runtime;
  std::unique_ptr<Preprocessor> m_preprocessor;
  std::vector<std::string> m_labels;
};

// Checks every file metadata.beamflow.files lists in `dir` against its
// sha256; throws model.file.missing / model.file.checksum.
void verify_files(const std::filesystem::path& dir, const Json& metadata);

// Runs metadata.beamflow.validation; throws model.validation.failed naming
// the vector (/beamflow/validation/N), the element and both values.
void run_validation_vectors(const Model& model);

}  // namespace beamflow::models
