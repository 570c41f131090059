#include "jobs/transfer/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "jobs/transfer/endpoints.hpp"
#include "jobs/transfer/errors.hpp"

namespace beamflow::transfer {

std::pair<std::string, std::string> split_parent(const std::string& rel) {
  const auto slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (name.empty()) return dir;
  return dir + "/" + name;
}

Error system_error(Side side, int err, const std::string& what, const std::string& endpoint,
                   const std::string& rel) {
  const std::string message = what + ": " + std::strerror(err);
  Error::Context context{{"endpoint", endpoint}, {"path", rel.empty() ? "." : rel}};
  if (err == EXDEV || err == ELOOP)
    return Error("transfer.path.escapes", asl::Path,
                 what + ": the path leaves the endpoint root (a symlink leading out, or an absolute symlink)",
                 std::move(context));
  if (side == Side::Source) {
    if (err == ENOENT) return Error("transfer.source.missing", asl::Source, message, std::move(context));
    if (err == EACCES || err == EPERM)
      return Error("transfer.source.denied", asl::Permission, message, std::move(context));
    return Error("transfer.source.unreadable", asl::Source, message, std::move(context));
  }
  if (err == ENOSPC || err == EDQUOT)
    return Error("transfer.destination.full", asl::Destination, message, std::move(context), true);
  if (err == EACCES || err == EPERM || err == EROFS)
    return Error("transfer.destination.denied", asl::Permission, message, std::move(context));
  if (err == ENOTDIR || err == EISDIR || err == ENOTEMPTY || err == EEXIST)
    return Error("transfer.destination.conflict", asl::Destination, message, std::move(context));
  return Error("transfer.destination.io", asl::Destination, message, std::move(context), true);
}

Root::Root(const Endpoint& endpoint, Side side) : m_name(endpoint.name), m_path(endpoint.root), m_side(side) {
  const int fd = ::open(endpoint.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error("transfer.endpoint.root", asl::Request,
                "the endpoint's root folder cannot be opened: " + std::string(std::strerror(err)),
                {{"endpoint", endpoint.name}, {"root", endpoint.root.string()}});
  }
  m_fd = Fd(fd);
}

namespace {
// Component-wise fallback: every component opened with O_NOFOLLOW.
int open_walk(int root, const std::string& rel, int flags, mode_t mode) noexcept {
  int dir = ::dup(root);
  if (dir < 0) return -errno;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) {
      const int fd = ::openat(dir, part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
      const int err = errno;
      ::close(dir);
      return fd < 0 ? -err : fd;
    }
    const int next = ::openat(dir, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int err = errno;
    ::close(dir);
    if (next < 0) return -err;
    dir = next;
    start = slash + 1;
  }
}
}  // namespace

int Root::open_at(const std::string& rel, int flags, mode_t mode) const noexcept {
  // Read and set from a rank's two copy lanes' threads.
  static std::atomic<bool> have_openat2{true};
  const char* path = rel.empty() ? "." : rel.c_str();
  if (have_openat2) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, m_fd.get(), path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS) return -errno;
    have_openat2 = false;
  }
  if (rel.empty()) return ::openat(m_fd.get(), ".", flags | O_CLOEXEC, mode);
  return open_walk(m_fd.get(), rel, flags, mode);
}

Fd Root::open(const std::string& rel, int flags, mode_t mode) const {
  const int fd = open_at(rel, flags, mode);
  if (fd < 0) throw error(-fd, "cannot open", rel);
  return Fd(fd);
}

void Root::make_dirs(const std::string& rel) const {
  if (rel.empty()) return;
  const int probe = open_at(rel, O_RDONLY | O_DIRECTORY);
  if (probe >= 0) {
    ::close(probe);
    return;
  }
  if (probe != -ENOENT) throw error(-probe, "cannot open the folder", rel);
  const auto [parent, name] = split_parent(rel);
  make_dirs(parent);
  const Fd dir = open(parent, O_RDONLY | O_DIRECTORY);
  if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    throw error(errno, "cannot create the folder", rel);
  const int check = open_at(rel, O_RDONLY | O_DIRECTORY);
  if (check < 0) throw error(-check, "cannot open the folder", rel);
  ::close(check);
}

}  // namespace beamflow::transfer
