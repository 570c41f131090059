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
// with the process, so a kill -9 never leaves a stale lock behind.
class FileLock {
 public:
  // Returns nullopt when another process holds the lock.
  static std::optional<FileLock> try_acquire(const std::filesystem::path& file);
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

}  // namespace beamflow::fs
