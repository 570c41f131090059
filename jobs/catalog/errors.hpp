#pragma once
// Errors of the dataset catalog. Ids are listed in docs/errors.md:
//   dataset.*  publishing, resolving and verifying one dataset
//   catalog.*  the catalog itself: its storage, collections and queries
// Input errors (bad metadata, identifiers, queries) carry the ASL name
// Dataset.InvalidInput so a flow can tell them from storage trouble
// (Catalog.Error), which may be retryable.
#include <string>
#include <utility>

#include "core/error.hpp"

namespace beamflow::catalog {

inline constexpr const char* kInvalidInput = "Dataset.InvalidInput";
inline constexpr const char* kCatalogError = "Catalog.Error";
inline constexpr const char* kNotFound = "Dataset.NotFound";
inline constexpr const char* kVerifyFailed = "Dataset.VerifyFailed";

// An input error naming the offending field (field=...).
[[noreturn]] inline void invalid(const std::string& id, const std::string& field,
                                 const std::string& what) {
  throw Error(id, kInvalidInput, field + ": " + what, {{"field", field}});
}

[[noreturn]] inline void fail(const std::string& id, const std::string& what,
                              Error::Context context = {}, bool retryable = false) {
  throw Error(id, kCatalogError, what, std::move(context), retryable);
}

}  // namespace beamflow::catalog
