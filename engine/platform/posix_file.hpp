#pragma once
// POSIX plumbing shared by the journal and fs helpers: an owning descriptor,
// write and read loops that survive short transfers and EINTR, temporary
// files beside a target, and the error every failed system call becomes.
// Each caller names its own error id, so a journal failure reads journal.*
// and a plain file failure fs.*.
#include <filesystem>
#include <string>

namespace beamflow::fs::detail {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }
  int release() noexcept;
  // Closes now and returns 0 or the errno of close(2): on NFS and Lustre a
  // deferred write error surfaces only here.
  int close() noexcept;

 private:
  int m_fd = -1;
};

// Writes all `size` bytes, retrying short writes and EINTR. Returns 0 or errno.
int write_all(int fd, const void* data, std::size_t size) noexcept;
// fsync(2) of a directory, so a create, link or rename in it is durable.
// Returns 0 or errno.
int fsync_directory(const std::filesystem::path& dir) noexcept;
// The directory holding `file` ("." for a bare name).
std::filesystem::path directory_of(const std::filesystem::path& file);

// Throws beamflow::Error(id, States.Runtime) reading "`what`: strerror(err)"
// with context file=`file`. err == 0 leaves out the strerror part.
[[noreturn]] void throw_system_error(const std::string& id, const std::string& what,
                                     const std::filesystem::path& file, int err,
                                     bool retryable = false);

// Reads a whole regular file. A failure to open (or a file that is not a
// regular file) throws `open_id`, a failed read throws `read_id`.
std::string read_whole_file(const std::filesystem::path& file, const std::string& open_id,
                            const std::string& read_id);

// A new, exclusively created file in the same directory as `target` (so a
// rename or link onto `target` cannot cross filesystems). Its name is removed
// on destruction unless disarm() was called.
class TempFile {
 public:
  // open(2) flags beyond O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC go in `extra_flags`.
  // Throws `error_id` when no temporary file can be created.
  TempFile(const std::filesystem::path& target, int extra_flags, const std::string& error_id);
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  const std::filesystem::path& path() const noexcept { return m_path; }
  UniqueFd& fd() noexcept { return m_fd; }
  // The temporary name was renamed away or must stay: do not unlink it.
  void disarm() noexcept { m_armed = false; }
  // Unlinks the temporary name now (the descriptor stays open).
  void remove_name() noexcept;

 private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  bool m_armed = true;
};

// Replaces `file` with `size` bytes atomically: a reader sees the old content
// or the new, never a mix, even across a crash. With `durable`, the data and
// the rename are fsynced before returning. Throws `error_id`.
void replace_file(const std::filesystem::path& file, const void* data, std::size_t size,
                  bool durable, const std::string& error_id);

}  // namespace beamflow::fs::detail
