#include "core/hash.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>


namespace beamflow {
namespace {

// Each algorithm's implementation, fetched from the default provider once.
// EVP_sha256() and the like are OpenSSL 3's legacy handles: a context
// initialised with one fetches the implementation again at every
// initialisation (a name look-up under a lock, and allocations), which was
// most of a short digest's cost: a pilot task's action id is a SHA-256, and
// that was ~3% of the coordinator's CPU a task.
const EVP_MD* md_for(std::string_view name) {
  const auto fetched = [](const char* id) {
    EVP_MD* md = EVP_MD_fetch(nullptr, id, nullptr);
    if (!md) throw std::runtime_error(std::string("EVP_MD_fetch failed for ") + id);
    return md;  // held for the process
  };
  if (name == "MD5") { static const EVP_MD* md = fetched("MD5"); return md; }
  if (name == "SHA-1") { static const EVP_MD* md = fetched("SHA1"); return md; }
  if (name == "SHA-256") { static const EVP_MD* md = fetched("SHA2-256"); return md; }
  if (name == "SHA-384") { static const EVP_MD* md = fetched("SHA2-384"); return md; }
  if (name == "SHA-512") { static const EVP_MD* md = fetched("SHA2-512"); return md; }
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

// Starts (or restarts) a digest on `ctx`, which may be null when its
// allocation failed.
void init(EVP_MD_CTX* ctx, const EVP_MD* md) {
  if (!ctx || EVP_DigestInit_ex(ctx, md, nullptr) != 1) throw std::runtime_error("EVP_DigestInit_ex failed");
}

Ctx start(const EVP_MD* md) {
  Ctx ctx(EVP_MD_CTX_new());
  init(ctx.get(), md);
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
  const EVP_MD* md = md_for(algorithm);
  // One context per thread, initialised again for each digest (OpenSSL
  // keeps its state when the algorithm is the same) rather than allocated
  // and freed each call.
  thread_local Ctx ctx(EVP_MD_CTX_new());
  init(ctx.get(), md);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  return finish(ctx.get());
}

Digest::Digest(std::string_view algorithm) : m_ctx(start(md_for(algorithm)).release()) {}
Digest::~Digest() { EVP_MD_CTX_free(m_ctx); }
void Digest::update(const void* data, std::size_t size) { EVP_DigestUpdate(m_ctx, data, size); }
std::string Digest::hex() { return finish(m_ctx); }

}  // namespace beamflow
