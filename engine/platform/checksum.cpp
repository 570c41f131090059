#include "platform/checksum.hpp"

#include "platform/digest.hpp"

#include <string_view>

namespace beamflow::platform {

std::string sha256_file(const std::filesystem::path& path) {
  // file_digest names its algorithm ("sha256:<hex>"); callers of this one want the hex alone. Cutting the
  // known prefix rather than searching for ':' also keeps GCC 12's -Wstringop-overread false positive away.
  std::string digest = *digest::file_digest(path, digest::Algorithm::Sha256, std::stop_token{});
  digest.erase(0, std::string_view(digest::to_string(digest::Algorithm::Sha256)).size() + 1);
  return digest;
}

}  // namespace beamflow::platform
