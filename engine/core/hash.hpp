#pragma once
// Message digests (OpenSSL EVP) as lowercase hex: action ids, definition
// checksums, States.Hash; files are digested by platform/checksum.hpp.
#include <cstddef>
#include <string>
#include <string_view>

// OpenSSL's digest context, declared here so that users need not include it.
struct evp_md_ctx_st;

namespace beamflow {

// algorithm: "MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512". Throws
// std::invalid_argument for any other name.
std::string digest_hex(std::string_view algorithm, std::string_view data);
inline std::string sha256_hex(std::string_view data) { return digest_hex("SHA-256", data); }

// An incremental digest (RAII over OpenSSL's context), for data that arrives
// in pieces: files (platform/checksum.hpp), streams being copied.
class Digest {
 public:
  explicit Digest(std::string_view algorithm);  // names as digest_hex
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const void* data, std::size_t size);
  // Lower-case hex of everything updated so far; call once.
  std::string hex();

 private:
  ::evp_md_ctx_st* m_ctx;
};

}  // namespace beamflow
