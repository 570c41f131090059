#pragma once
// The subset of JSON Schema (draft 2020-12) a collection declares for its
// domain metadata: type, enum, const, required, properties,
// additionalProperties, items, min/maxItems, uniqueItems, min/maxLength,
// pattern, minimum, maximum, exclusiveMinimum/Maximum, format "date" and
// "date-time", description/title/$schema/$id (ignored). A schema using any
// other keyword is refused when the collection is created rather than
// half-enforced later.
#include <optional>
#include <string>

#include "core/json.hpp"

namespace beamflow::catalog {

struct SchemaViolation {
  std::string pointer;  // JSON pointer of the offending value ("/elements/2")
  std::string message;  // "must be a string, got number"
};

// Throws catalog.collection.schema naming the schema location of the first
// unsupported keyword or malformed value.
void check_schema(const Json& schema);

// The first place `value` breaks `schema` (checked with check_schema), or
// nullopt.
std::optional<SchemaViolation> validate_against(const Json& schema, const Json& value);

}  // namespace beamflow::catalog
