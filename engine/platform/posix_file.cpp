#include "platform/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <system_error>

#include "core/error.hpp"

namespace beamflow::fs::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    close();
    m_fd = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() { close(); }

int UniqueFd::release() noexcept {
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

int UniqueFd::close() noexcept {
  if (m_fd < 0) return 0;
  // Linux releases the descriptor even when close() fails (EINTR included),
  // so it is never retried.
  const int rc = ::close(release());
  return rc == 0 ? 0 : errno;
}

int write_all(int fd, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // no progress and no error: do not spin
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

std::filesystem::path directory_of(const std::filesystem::path& file) {
  const auto parent = file.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

int fsync_directory(const std::filesystem::path& dir) noexcept {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  return fd.close();
}

void throw_system_error(const std::string& id, const std::string& what,
                        const std::filesystem::path& file, int err, bool retryable) {
  std::string message = what;
  if (err != 0) {
    message += ": ";
    message += std::system_category().message(err);  // strerror, but thread-safe
  }
  throw Error(id, states_error::Runtime, std::move(message), {{"file", file.string()}}, retryable).with_errno(err);
}

std::string read_whole_file(const std::filesystem::path& file, const std::string& open_id,
                            const std::string& read_id) {
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever;
  // it is refused below like any file that is not a regular file.
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) throw_system_error(open_id, "cannot open", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_system_error(read_id, "cannot stat", file, errno);
  if (!S_ISREG(st.st_mode)) throw_system_error(open_id, "not a regular file", file, 0);
  if (::fcntl(fd.get(), F_SETFL, O_RDONLY) != 0) throw_system_error(read_id, "cannot clear O_NONBLOCK", file, errno);

  // One byte more than the size we saw, so a single read() normally meets EOF;
  // a file that grows while we read is read to its new end.
  std::string out(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) out.resize(out.size() * 2);
    const ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_system_error(read_id, "cannot read", file, errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  return out;
}

namespace {
// pid + counter make names unique within a host; the random part, drawn
// once per process, keeps hosts sharing a directory (NFS, Lustre) apart.
// O_EXCL settles any collision left. (A generator per thread seeded from
// std::random_device cost a pilot one random_device per run: each run has
// a thread of its own.)
std::filesystem::path temp_name_for(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  const std::string name = "." + target.filename().string() + ".tmp-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                           std::to_string(salt);
  return directory_of(target) / name;
}
}  // namespace

TempFile::TempFile(const std::filesystem::path& target, int extra_flags,
                   const std::string& error_id) {
  constexpr int attempts = 16;
  for (int i = 0; i < attempts; ++i) {
    m_path = temp_name_for(target);
    // Owner-only whatever the umask: everything beamflow writes this way is
    // its own state (runs, journals, action state, models), which may hold
    // a command's environment.
    m_fd = UniqueFd(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | extra_flags,
                           0600));
    if (m_fd) return;
    if (errno != EEXIST) break;
  }
  throw_system_error(error_id, "cannot create a temporary file beside it", target, errno);
}

TempFile::~TempFile() { remove_name(); }

void TempFile::remove_name() noexcept {
  if (m_armed) ::unlink(m_path.c_str());
  m_armed = false;
}

void replace_file(const std::filesystem::path& file, const void* data, std::size_t size,
                  bool durable, const std::string& error_id) {
  TempFile tmp(file, 0, error_id);
  if (const int err = write_all(tmp.fd().get(), data, size))
    throw_system_error(error_id, "cannot write temporary file " + tmp.path().string(), file, err);
  if (durable && ::fsync(tmp.fd().get()) != 0)
    throw_system_error(error_id, "cannot fsync temporary file " + tmp.path().string(), file, errno);
  if (const int err = tmp.fd().close())
    throw_system_error(error_id, "cannot close temporary file " + tmp.path().string(), file, err);
  if (::rename(tmp.path().c_str(), file.c_str()) != 0)
    throw_system_error(error_id, "cannot rename " + tmp.path().string() + " over it", file, errno);
  tmp.disarm();
  if (!durable) return;
  if (const int err = fsync_directory(directory_of(file)))
    throw_system_error(error_id, "cannot fsync its directory", file, err);
}

}  // namespace beamflow::fs::detail
