#include "platform/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "platform/posix_file.hpp"

namespace beamflow::fs {

void write_file_atomic(const std::filesystem::path& file, const std::string& data) {
  detail::replace_file(file, data.data(), data.size(), /*durable=*/true, "fs.write");
}

std::string read_file(const std::filesystem::path& file) {
  return detail::read_whole_file(file, "fs.read", "fs.read");
}

void sync_directory(const std::filesystem::path& dir) {
  if (const int err = detail::fsync_directory(dir))
    detail::throw_system_error("fs.sync", "cannot fsync directory", dir, err);
}

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& file) {
  detail::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) detail::throw_system_error("fs.lock", "cannot open lock file", file, errno);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::nullopt;
    detail::throw_system_error("fs.lock", "cannot lock", file, errno);
  }
  return FileLock(fd.release());
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.release()) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    // Closing the descriptor drops the lock (unless a dup elsewhere keeps it).
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.release();
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);
}

int FileLock::release() noexcept { return std::exchange(m_fd, -1); }

}  // namespace beamflow::fs
