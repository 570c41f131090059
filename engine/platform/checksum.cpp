#include "platform/checksum.hpp"

#include "platform/digest.hpp"

namespace beamflow::platform {

std::string sha256_file(const std::filesystem::path& path) {
  const std::string digest = *digest::file_digest(path, digest::Algorithm::Sha256, std::stop_token{});
  return digest.substr(digest.find(':') + 1);
}

}  // namespace beamflow::platform
