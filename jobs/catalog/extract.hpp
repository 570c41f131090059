#pragma once
// Metadata beamflow can read from the data itself. Today: HDF5 files
// (Data Exchange scans and beamflow reconstructions). For each file: every
// dataset's shape and type, the small attributes of every object (energy,
// instrument, sample, and a reconstruction's algorithm, centre, filter and
// provenance: input file, its digest, parameters), and a summary of the
// rotation angles (/exchange/theta: count, first, last, units).
//
// The result is stored under "extracted" beside what the user gave, so the
// user's own "domain" values are never overwritten, and both are searched.
#include <filesystem>

#include "core/json.hpp"

namespace beamflow::catalog {

// {"files": [{"path", "datasets": [...], "attributes": {...}, "theta": {...}}],
//  "technique": [...]}; null when nothing known was found. A file that
// cannot be read is listed with "error" rather than failing the publish:
// extraction describes, it does not validate.
Json extract_metadata(const std::filesystem::path& source);

}  // namespace beamflow::catalog
