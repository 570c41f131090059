#include "core/hash.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>


namespace beamflow {
namespace {

const EVP_MD* md_for(std::string_view name) {
  if (name == "MD5") return EVP_md5();
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  throw std::invalid_argument("unknown digest algorithm '" + std::string(name) + "'");
}

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

std::string to_hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  return out;
}

Ctx start(const EVP_MD* md) {
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw std::runtime_error("EVP_DigestInit_ex failed");
  return ctx;
}

std::string finish(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (EVP_DigestFinal_ex(ctx, out, &n) != 1) throw std::runtime_error("EVP_DigestFinal_ex failed");
  return to_hex(out, n);
}

}  // namespace

std::string digest_hex(std::string_view algorithm, std::string_view data) {
  Ctx ctx = start(md_for(algorithm));
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  return finish(ctx.get());
}

Digest::Digest(std::string_view algorithm) : m_ctx(start(md_for(algorithm)).release()) {}
Digest::~Digest() { EVP_MD_CTX_free(m_ctx); }
void Digest::update(const void* data, std::size_t size) { EVP_DigestUpdate(m_ctx, data, size); }
std::string Digest::hex() { return finish(m_ctx); }

}  // namespace beamflow
