#pragma once
// Errors of the model hub. Every one is a beamflow::Error with a "model.*"
// id (docs/errors.md, section "Model hub") and one of the ASL names below, so
// a flow can Catch a bad request (Model.InvalidInput) apart from a missing or
// damaged model.
#include <string>

#include "core/error.hpp"

namespace beamflow::models {

namespace model_asl {
inline constexpr const char* NotFound = "Model.NotFound";          // no such model or version
inline constexpr const char* InvalidInput = "Model.InvalidInput";  // the data given to a model
inline constexpr const char* InvalidMetadata = "Model.InvalidMetadata";
inline constexpr const char* Corrupt = "Model.Corrupt";          // a stored model fails its checks
inline constexpr const char* Unsupported = "Model.Unsupported";  // a format or feature we do not run
inline constexpr const char* ValidationFailed = "Model.ValidationFailed";
inline constexpr const char* AlreadyPublished = "Model.AlreadyPublished";
inline constexpr const char* IO = "Model.IOError";  // repository or data files
}  // namespace model_asl

inline Error model_error(std::string id, const char* asl_name, std::string message,
                         Error::Context context = {}) {
  return Error(std::move(id), asl_name, std::move(message), std::move(context));
}

// The data handed to a model: shapes, types, values.
inline Error input_error(std::string id, std::string message, Error::Context context = {}) {
  return Error(std::move(id), model_asl::InvalidInput, std::move(message), std::move(context));
}

}  // namespace beamflow::models
