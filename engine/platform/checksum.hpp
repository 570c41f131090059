#pragma once
// The one SHA-256 of a file: model files, reconstruction inputs (on
// request), published datasets. Lower-case hex, exactly what `sha256sum`
// prints, so anyone can verify a recorded checksum without beamflow. It is
// digest::file_digest's SHA-256 (platform/digest.hpp) without the
// "sha256:" prefix: one read of a file under every file digest.
#include <filesystem>
#include <string>

namespace beamflow::platform {

// Throws fs.read (file=) as digest::file_digest does.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace beamflow::platform
