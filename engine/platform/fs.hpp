#pragma once
// Small durable-filesystem helpers shared by the journal, the run directory
// and the actions: atomic file replacement, directory fsync, advisory locks.
#include <filesystem>
#include <optional>
#include <string>

namespace beamflow::fs {

// Writes `data` to `file` atomically: temp file in the same directory, fsync,
// rename over the target, fsync of the directory. Throws Error "fs.write".
void write_file_atomic(const std::filesystem::path& file, const std::string& data);
// Reads a whole file; throws Error "fs.read" naming the file.
std::string read_file(const std::filesystem::path& file);
// fsyncs a directory so a rename or create in it is durable.
void sync_directory(const std::filesystem::path& dir);

// An exclusive flock(2) held for the object's lifetime (RAII). The lock dies
// with the process, so a kill -9 never leaves a stale lock behind. On a file
// system flock(2) does not support (ENOLCK, ENOSYS, EOPNOTSUPP, EINVAL:
// NFSv3 without lockd, Lustre without -o flock) acquiring throws Error
// "fs.lock_unsupported", else "fs.lock" for any other failure.
class FileLock {
 public:
  // Returns nullopt when another process holds the lock.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& file);
  // Waits until no other process holds the lock, then takes it (callers
  // that must run one at a time and may wait, such as tests changing a
  // machine-wide setting). Throws as try_acquire.
  static FileLock acquire(const std::filesystem::path& file);
  // Whether a process holds the lock on `file`, asked without creating or
  // writing anything (`beamflow runs`, `status` only look): a missing file
  // is a lock nobody holds. Throws as try_acquire, and Error "fs.lock" when
  // `file` is not a regular file.
  static bool is_held(const std::filesystem::path& file);
  FileLock(FileLock&&) noexcept;
  FileLock& operator=(FileLock&&) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  int fd() const noexcept { return m_fd; }
  // Gives up ownership of the descriptor (e.g. to pass it to a child process
  // that keeps the lock) without unlocking.
  int release() noexcept;

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

// For a directory every node of a job shares (a pilot's): throws Error
// "fs.lock_unsupported" when its mount makes flock(2) local to each node, so
// that two nodes could both "hold" one lock (see lock_scope_problem), or
// when flock(2) does not work there at all. Locks on a local file system
// pass: one node is one holder's whole world. docs/architecture.md, "Several
// nodes, and node loss", says what a shared file system must give.
// `mountinfo` is where the mounts are read (another file in tests).
void require_cluster_wide_locks(const std::filesystem::path& dir,
                                const std::filesystem::path& mountinfo = "/proc/self/mountinfo");
// Why flock(2) on a file system of type `fstype` mounted with `options` (the
// mount's and the superblock's, comma separated, as /proc/self/mountinfo
// shows them) is not one lock for every node, or empty when it is: NFS with
// local_lock=flock or =all, Lustre with localflock.
std::string lock_scope_problem(const std::string& fstype, const std::string& options);

}  // namespace beamflow::fs
