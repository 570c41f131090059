#pragma once
// Path safety: every file a transfer touches is opened relative to its
// endpoint's root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
// the kernel refuses, atomically, any resolution that would leave the root
// (a "..", an absolute symlink, a symlink leading out), with no window
// between a check and the open. Symlinks that stay inside are followed.
// Kernels without openat2 (before 5.6) fall back to walking the path one
// component at a time with O_NOFOLLOW, which refuses every symlink.
#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::transfer {

struct Endpoint;

// An owning descriptor (the platform's).
using Fd = fs::detail::UniqueFd;

enum class Side { Source, Destination };

// The error a failed system call on `rel` (relative to the endpoint) becomes:
// EXDEV/ELOOP from a beneath-resolution -> transfer.path.escapes; on the
// source ENOENT -> transfer.source.missing, EACCES/EPERM ->
// transfer.source.denied, others transfer.source.unreadable; on the
// destination ENOSPC/EDQUOT -> transfer.destination.full (retryable),
// EACCES/EPERM/EROFS -> transfer.destination.denied, ENOTDIR/EISDIR ->
// transfer.destination.conflict, others transfer.destination.io (retryable).
Error system_error(Side side, int err, const std::string& what, const std::string& endpoint,
                   const std::string& rel);

class Root {
 public:
  // Opens the endpoint's root folder. Throws transfer.endpoint.root when it
  // is missing or not a folder.
  explicit Root(const Endpoint& endpoint, Side side);

  const std::string& name() const noexcept { return m_name; }
  const std::filesystem::path& path() const noexcept { return m_path; }
  Side side() const noexcept { return m_side; }
  int fd() const noexcept { return m_fd.get(); }

  // open(2) of `rel` ("" is the root) beneath the root; -errno on failure.
  int open_at(const std::string& rel, int flags, mode_t mode = 0) const noexcept;
  // Same, throwing system_error(side) on failure.
  Fd open(const std::string& rel, int flags, mode_t mode = 0) const;
  // Creates `rel` and its missing parents as folders (mode 0755) beneath the
  // root; throws transfer.destination.conflict when a component is a file.
  void make_dirs(const std::string& rel) const;
  Error error(int err, const std::string& what, const std::string& rel) const {
    return system_error(m_side, err, what, m_name, rel);
  }

 private:
  std::string m_name;
  std::filesystem::path m_path;
  Side m_side;
  Fd m_fd;
};

// "a/b/c" -> ("a/b", "c"); "c" -> ("", "c").
std::pair<std::string, std::string> split_parent(const std::string& rel);
std::string join(const std::string& dir, const std::string& name);

}  // namespace beamflow::transfer
