#pragma once
// Errors of the verified transfer. Every one is a beamflow::Error with a
// "transfer.*" id (docs/errors.md, section "Transfer") and one of the ASL
// names below, so a flow can Catch a bad request apart from a full disk and
// retry only what may succeed later (full destination, changed source, I/O).
#include <string>

#include "core/error.hpp"

namespace beamflow::transfer {

namespace asl {
inline constexpr const char* Request = "Transfer.RequestError";        // request, endpoints config
inline constexpr const char* Path = "Transfer.PathError";              // a path escaping its endpoint
inline constexpr const char* Permission = "Transfer.PermissionDenied";  // read-only endpoint, EACCES
inline constexpr const char* Source = "Transfer.SourceError";          // missing, unreadable, changed
inline constexpr const char* Destination = "Transfer.DestinationError";  // full, I/O, type conflict
inline constexpr const char* Integrity = "Transfer.IntegrityError";    // verification failed
inline constexpr const char* Manifest = "Transfer.ManifestError";      // the resume manifest
}  // namespace asl

inline Error request_error(std::string id, std::string message, Error::Context context = {}) {
  return Error(std::move(id), asl::Request, std::move(message), std::move(context));
}

// Ids of errors in what the user wrote (exit code 2 on the command line,
// Action.InvalidInput in a flow): the request, the endpoints file, names.
inline bool is_usage_error(const Error& e) {
  const std::string& id = e.id();
  return id.rfind("transfer.request.", 0) == 0 || id.rfind("transfer.endpoints.", 0) == 0 ||
         id == "transfer.endpoint.unknown";
}

}  // namespace beamflow::transfer
