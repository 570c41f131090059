#include "jobs/tomography/input_checksum.hpp"

#include <system_error>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "jobs/tomography/errors.hpp"
#include "platform/checksum.hpp"

namespace beamflow::jobs {
namespace {
Error unreadable(const std::filesystem::path& path, const Error& e) {
  return input_error("tomo.input.unreadable", e.message(), {{"file", path.string()}});
}
}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  try {
    return platform::sha256_file(path);
  } catch (const Error& e) {
    throw unreadable(path, e);
  }
}

InputChecksum::InputChecksum(std::filesystem::path path) : m_path(std::move(path)) {
  // OpenSSL reads its configuration's location from the environment when
  // first used: done here, so that the thread never reads the environment
  // while the caller's thread changes it (MPI_Init does).
  digest_hex("SHA-256", {});
  std::promise<std::string> promise;
  std::future<std::string> hash = promise.get_future();
  try {
    m_thread = std::jthread([path = m_path, promise = std::move(promise)](std::stop_token stop) mutable {
      try {
        if (auto hex = platform::sha256_file(path, stop)) promise.set_value(std::move(*hex));
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
  if (!m_hash.valid()) return sha256_file(m_path);
  return m_hash.get();
}

}  // namespace beamflow::jobs
