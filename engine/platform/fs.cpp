#include "platform/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/error.hpp"
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

namespace {

bool unsupported(int err) { return err == ENOLCK || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL; }

// flock(fd, op), waiting for the lock or (Wait::No: LOCK_NB) not: false
// when another process holds a conflicting lock and we do not wait; throws
// Error "fs.lock_unsupported" or "fs.lock" (see FileLock).
enum class Wait { No, Yes };
bool lock(int fd, int op, const std::filesystem::path& file, Wait wait) {
  while (::flock(fd, op | (wait == Wait::No ? LOCK_NB : 0)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && wait == Wait::No) return false;
    if (unsupported(errno))
      detail::throw_system_error("fs.lock_unsupported",
                                 "flock(2) does not work on this file system, so no process can tell whether "
                                 "another holds the lock",
                                 file, errno);
    detail::throw_system_error("fs.lock", "cannot lock", file, errno);
  }
  return true;
}

bool has_option(const std::string& options, const std::string& wanted) {
  std::size_t at = 0;
  while (at <= options.size()) {
    const std::size_t end = std::min(options.find(',', at), options.size());
    if (options.compare(at, end - at, wanted) == 0) return true;
    at = end + 1;
  }
  return false;
}

// The file system type and options of the mount holding `dir` (matched by
// device number; the last matching line is the one on top), or nullopt.
std::optional<std::pair<std::string, std::string>> mount_of(const std::filesystem::path& dir,
                                                            const std::filesystem::path& mountinfo) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  const std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::ifstream in(mountinfo);
  std::optional<std::pair<std::string, std::string>> found;
  for (std::string line; std::getline(in, line);) {
    // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS
    std::istringstream fields(line);
    std::string id, parent, majmin, root, point, options, word;
    fields >> id >> parent >> majmin >> root >> point >> options;
    if (majmin != dev) continue;
    while (fields >> word && word != "-") {
    }
    std::string type, source, super_options;
    fields >> type >> source >> super_options;
    found = std::make_pair(type, options + "," + super_options);
  }
  return found;
}

}  // namespace

std::string lock_scope_problem(const std::string& fstype, const std::string& options) {
  if (fstype.rfind("nfs", 0) == 0 && (has_option(options, "local_lock=flock") || has_option(options, "local_lock=all")))
    return "an NFS mount with " + std::string(has_option(options, "local_lock=all") ? "local_lock=all" : "local_lock=flock") +
           ": flock(2) locks stay on each client, so two nodes could both hold one";
  if (fstype == "lustre" && has_option(options, "localflock"))
    return "a Lustre mount with localflock: flock(2) locks stay on each client, so two nodes could both hold one "
           "(mount it with -o flock)";
  return {};
}

void require_cluster_wide_locks(const std::filesystem::path& dir, const std::filesystem::path& mountinfo) {
  if (const auto mount = mount_of(dir, mountinfo)) {
    if (const std::string problem = lock_scope_problem(mount->first, mount->second); !problem.empty())
      throw Error("fs.lock_unsupported", states_error::Runtime,
                  "locks in this directory are not cluster-wide: it is on " + problem,
                  {{"file", dir.string()}, {"fstype", mount->first}});
  }
}

namespace {

// The lock file, opened (created if missing) for an exclusive lock.
detail::UniqueFd open_lock_file(const std::filesystem::path& file) {
  detail::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) detail::throw_system_error("fs.lock", "cannot open lock file", file, errno);
  return fd;
}

}  // namespace

std::optional<FileLock> FileLock::try_acquire(const std::filesystem::path& file) {
  detail::UniqueFd fd = open_lock_file(file);
  if (!lock(fd.get(), LOCK_EX, file, Wait::No)) return std::nullopt;
  return FileLock(fd.release());
}

FileLock FileLock::acquire(const std::filesystem::path& file) {
  detail::UniqueFd fd = open_lock_file(file);
  lock(fd.get(), LOCK_EX, file, Wait::Yes);
  return FileLock(fd.release());
}

bool FileLock::is_held(const std::filesystem::path& file) {
  detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return false;
    detail::throw_system_error("fs.lock", "cannot open lock file", file, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) detail::throw_system_error("fs.lock", "cannot look at lock file", file, errno);
  if (!S_ISREG(st.st_mode))
    detail::throw_system_error("fs.lock", "cannot open lock file: not a regular file", file,
                               S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  // A shared lock is enough to ask (it needs no write access, also where
  // flock is emulated with POSIX locks) and two lookers never block each
  // other; closing the descriptor drops it.
  return !lock(fd.get(), LOCK_SH, file, Wait::No);
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
