#pragma once
// A dataset's descriptive metadata: a document
//   { "dc": { DataCite 4.4 in its JSON form }, "domain": { free, per collection } }
// checked before anything is copied or minted. Mandatory DataCite
// properties: creators, titles, publisher, publicationYear, types
// (identifier is minted by the catalog, or names the dataset a new version
// belongs to). Optional ones checked here: subjects, relatedIdentifiers,
// dates, rightsList, descriptions, version, language, formats, sizes.
// Every refusal names the field: "dc.creators[1].name: is required".
#include <string>

#include "core/json.hpp"

namespace beamflow::catalog {

// Throws dataset.metadata.missing (a mandatory field absent or empty) or
// dataset.metadata.invalid (wrong type, value or unknown key), field=...
void check_datacite(const Json& dc);

// Checks the whole document: an object with "dc" (check_datacite) and
// optional "domain" (an object), nothing else. `domain_schema` (the
// collection's JSON Schema, null for none) is applied to "domain":
// dataset.metadata.schema with field=domain/POINTER.
void check_metadata(const Json& document, const Json& domain_schema);

}  // namespace beamflow::catalog
