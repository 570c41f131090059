#pragma once
// The one SHA-256 of a file: model files, reconstruction inputs, published
// datasets. Lower-case hex, exactly what `sha256sum` prints, so anyone can
// verify a recorded checksum without beamflow.
#include <filesystem>
#include <string>

namespace beamflow::platform {

// Streams the file in large reads (one sequential pass, ~1 GB/s). Throws
// fs.read (file=, with the errno text) when it cannot be opened or read, or
// is not a regular file (a FIFO would block forever).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace beamflow::platform
