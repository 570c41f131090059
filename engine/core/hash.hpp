#pragma once
// Message digests (OpenSSL EVP) as lowercase hex: action ids, definition and
// file checksums, States.Hash.
#include <filesystem>
#include <string>
#include <string_view>

namespace beamflow {

// algorithm: "MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512". Throws
// std::invalid_argument for any other name.
std::string digest_hex(std::string_view algorithm, std::string_view data);
inline std::string sha256_hex(std::string_view data) { return digest_hex("SHA-256", data); }
// sha256 of a file's bytes, streamed. Throws beamflow::Error "fs.read".
std::string sha256_file_hex(const std::filesystem::path& file);

}  // namespace beamflow
