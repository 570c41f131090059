#pragma once
// The one SHA-256 of a file: model files, reconstruction inputs (on
// request), published datasets. Lower-case hex, exactly what `sha256sum`
// prints, so anyone can verify a recorded checksum without beamflow. And
// the one read of a whole file that other digests of it share.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>

namespace beamflow::platform {

// Streams the file in large reads (one sequential pass, ~1 GB/s). Throws
// fs.read (file=, with the errno text) when it cannot be opened or read, or
// is not a regular file (a FIFO would block forever).
std::string sha256_file(const std::filesystem::path& path);
// The same, giving up at the next read once `stop` is requested (nullopt
// then): for a hash started on a helper thread before the process knows it
// will need it, which must not keep the process alive when it does not.
std::optional<std::string> sha256_file(const std::filesystem::path& path, std::stop_token stop);

// The one sequential read under every file digest: hands each block of the
// file, in order, to `block`; false when `stop` was requested first. Throws
// fs.read as sha256_file does.
bool read_file_blocks(const std::filesystem::path& path, std::stop_token stop,
                      const std::function<void(const char* data, std::size_t size)>& block);

}  // namespace beamflow::platform
