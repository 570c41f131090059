#include "jobs/checksum.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "jobs/errors.hpp"

namespace beamflow::jobs {

std::string sha256_file(const std::filesystem::path& path) {
  auto unreadable = [&](const std::string& why) {
    return input_error("tomo.input.unreadable", "cannot checksum the input: " + why,
                       {{"file", path.string()}});
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable("cannot open it");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw unreadable("OpenSSL cannot start a SHA-256 digest");
  std::vector<char> buffer(std::size_t{8} << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.bad()) throw unreadable("read error");
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) throw unreadable("OpenSSL digest failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace beamflow::jobs
