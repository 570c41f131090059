#include "jobs/models/runtime.hpp"

#include <Kokkos_Core.hpp>

#include "jobs/models/errors.hpp"

namespace beamflow::models {

const ModelFormat& model_format(const std::string& name) {
  std::string known;
  for (const auto& f : model_formats()) {
    if (f.name == name) return f;
    known += (known.empty() ? "" : ", ") + f.name;
  }
  throw model_error("model.format.unknown", model_asl::Unsupported,
                    "unknown model format '" + name + "' (this build runs: " + known + ")",
                    {{"format", name}});
}

const ModelFormat* detect_format(const std::filesystem::path& file) {
  for (const auto& f : model_formats())
    if (f.recognizes(file)) return &f;
  return nullptr;
}

Tensor Preprocessor::apply(const Tensor&) const {
  throw input_error(
      "model.input.dtype",
      "this model's preprocessing takes JSON documents ({\"inputs\": [...]}), not an HDF5 dataset");
}

const PreprocessorKind& preprocessor_kind(const std::string& name, const std::string& pointer) {
  std::string known;
  for (const auto& k : preprocessor_kinds()) {
    if (k.name == name) return k;
    known += (known.empty() ? "" : ", ") + k.name;
  }
  throw model_error("model.metadata.invalid", model_asl::InvalidMetadata,
                    pointer + ": unknown preprocessing '" + name + "' (known: " + known + ")",
                    {{"field", pointer}});
}

void ensure_kokkos() { static Kokkos::ScopeGuard guard{Kokkos::InitArguments{}}; }

}  // namespace beamflow::models
