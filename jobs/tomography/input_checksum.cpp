#include "jobs/tomography/input_checksum.hpp"

#include <system_error>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {
namespace {
Error unreadable(const std::filesystem::path& path, const Error& e) {
  return input_error("tomo.input.unreadable", e.message(), {{"file", path.string()}});
}

std::string prefix(DigestKind kind) { return std::string(platform::digest::to_string(kind)) + ":"; }
}  // namespace

std::string file_digest(const std::filesystem::path& path, DigestKind kind) {
  try {
    return *platform::digest::file_digest(path, kind, std::stop_token{});
  } catch (const Error& e) {
    throw unreadable(path, e);
  }
}

std::optional<DigestKind> digest_kind(std::string_view digest) {
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return platform::digest::parse_algorithm(digest.substr(0, colon));
}

std::string sha256_digest(std::string_view hex) { return prefix(DigestKind::Sha256) + std::string(hex); }

std::optional<std::string> sha256_hex_of(std::string_view digest) {
  const std::string p = prefix(DigestKind::Sha256);
  if (!digest.starts_with(p)) return std::nullopt;
  return std::string(digest.substr(p.size()));
}

InputChecksum::InputChecksum(std::filesystem::path path, DigestKind kind) : m_path(std::move(path)), m_kind(kind) {
  // OpenSSL reads its configuration's location from the environment when
  // first used: done here, so that the thread never reads the environment
  // while the caller's thread changes it (MPI_Init does).
  if (kind == DigestKind::Sha256) digest_hex("SHA-256", {});
  std::promise<std::string> promise;
  std::future<std::string> hash = promise.get_future();
  try {
    m_thread = std::jthread([path = m_path, kind, promise = std::move(promise)](std::stop_token stop) mutable {
      try {
        if (auto digest = platform::digest::file_digest(path, kind, stop)) promise.set_value(std::move(*digest));
      } catch (const Error& e) {
        promise.set_exception(std::make_exception_ptr(unreadable(path, e)));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    });
    m_hash = std::move(hash);
  } catch (const std::system_error&) {
    // No thread to spare: get() hashes on the caller's thread.
  }
}

std::string InputChecksum::get() {
  if (!m_hash.valid()) return file_digest(m_path, m_kind);
  return m_hash.get();
}

}  // namespace beamflow::jobs
