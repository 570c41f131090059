#pragma once
// SHA-256 of a file's bytes, as `sha256sum` prints it.
//
// A reconstruction records the checksum of its input *file* rather than of
// the data it read: anyone can verify it with sha256sum without knowing
// HDF5; it covers everything that changes the result (projections, flats,
// darks, angles and their units); and it identifies the input before any
// slice is read, which is when a resumed run must decide whether an existing
// output belongs to this input. The cost is one sequential read of the file
// on one rank (about 1 GB/s), small beside reconstructing it.
#include <filesystem>
#include <string>

namespace beamflow::jobs {

// Lower-case hex. Throws tomo.input.unreadable (file=) when the file cannot
// be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace beamflow::jobs
