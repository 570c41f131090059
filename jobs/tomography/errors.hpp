#pragma once
// Errors raised by the tomography jobs. Every one is a beamflow::Error with a
// "tomo.*" id (docs/errors.md, section "Tomography jobs") and one of the ASL
// error names below, so a flow can Catch input problems separately from
// output problems and retry only what may succeed on a second attempt.
#include <string>

#include "core/error.hpp"

namespace beamflow::jobs {

namespace tomo_asl {
inline constexpr const char* Input = "Tomo.InputError";    // the input file or its content
inline constexpr const char* Output = "Tomo.OutputError";  // the output path or file
inline constexpr const char* Center = "Tomo.CenterError";  // rotation-centre problems
inline constexpr const char* Usage = "Tomo.UsageError";    // options that cannot be satisfied
inline constexpr const char* Kernel = "Tomo.KernelError";  // a kernel rejected its input
}  // namespace tomo_asl

// Ids whose errors are usage errors (exit code 2 on the command line) start
// with this prefix.
inline constexpr const char* kUsageIdPrefix = "tomo.usage.";

inline Error input_error(std::string id, std::string message, Error::Context context = {}) {
  return Error(std::move(id), tomo_asl::Input, std::move(message), std::move(context));
}
inline Error output_error(std::string id, std::string message, Error::Context context = {},
                          bool retryable = false) {
  return Error(std::move(id), tomo_asl::Output, std::move(message), std::move(context), retryable);
}
inline Error usage_error(std::string id_suffix, std::string message, Error::Context context = {}) {
  return Error(kUsageIdPrefix + std::move(id_suffix), tomo_asl::Usage, std::move(message),
               std::move(context));
}

inline bool is_usage_error(const Error& e) { return e.id().rfind(kUsageIdPrefix, 0) == 0; }

}  // namespace beamflow::jobs
