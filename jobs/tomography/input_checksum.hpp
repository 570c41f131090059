#pragma once
// The checksum a reconstruction records of its input *file* rather than of
// the data it read: anyone can verify it with sha256sum without knowing
// HDF5; it covers everything that changes the result (projections, flats,
// darks, angles and their units); and it identifies the input before any
// slice is read, which is when a resumed run must decide whether an existing
// output belongs to this input. The cost is one sequential read of the file
// on one rank, small beside reconstructing it.
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "jobs/tomography/errors.hpp"
#include "platform/checksum.hpp"

namespace beamflow::jobs {

// platform::sha256_file, its failure reported as the input's problem:
// tomo.input.unreadable (file=).
inline std::string sha256_file(const std::filesystem::path& path) {
  try {
    return platform::sha256_file(path);
  } catch (const Error& e) {
    throw input_error("tomo.input.unreadable", e.message(), {{"file", path.string()}});
  }
}

}  // namespace beamflow::jobs
