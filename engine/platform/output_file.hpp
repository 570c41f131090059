#pragma once
// The one rule every file beamflow writes for a user follows (recon volumes,
// previews, phantoms and their truth files, `model run --output`):
//
//   1. An output that is one of the run's inputs is always refused, even with
//      --overwrite: same device and inode, so a symlink, a hard link or
//      another spelling of the input is caught (fs.output.is_input).
//   2. An existing file is refused unless the caller passed --overwrite (or a
//      flow input's `overwrite: true`) (fs.output.exists); a directory, FIFO
//      or device is never replaced (fs.output.not_file).
//   3. A relative path may not climb out of the working directory with `..`
//      (fs.output.outside); absolute paths say where they go.
//   4. The file is written under a temporary name in the same directory and
//      renamed over the final name only when complete (fsync of the file and
//      of the directory), so the final name holds either the old file or the
//      whole new one, never a partial or zero-filled output.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace beamflow::fs {

struct OutputRule {
  bool overwrite = false;                     // replace an existing file (never an input)
  std::vector<std::filesystem::path> inputs;  // files this output must never be
};

// Checks rules 1-3 for `path` before anything is written. `what` names the
// output in messages ("output", "preview", "truth volume").
void check_output(const std::filesystem::path& path, const OutputRule& rule, const std::string& what = "output");

// Rule 1 alone (for outputs that are resumed when they exist).
void check_not_input(const std::filesystem::path& path, const std::vector<std::filesystem::path>& inputs,
                     const std::string& what = "output");

// True when `a` and `b` name the same existing file (device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// Rule 4 around a writer: construct (checks rules 1-3), write the file at
// temporary(), then commit(); a destroyed, uncommitted OutputFile removes
// its temporary file.
class OutputFile {
 public:
  OutputFile(std::filesystem::path path, OutputRule rule, std::string what = "output");
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  const std::filesystem::path& path() const noexcept { return m_path; }
  // `<dir>/<name>.partial-<pid>`: same directory (same file system, so the
  // rename is atomic), unique per process.
  const std::filesystem::path& temporary() const noexcept { return m_temporary; }
  // fsyncs the temporary file, checks rules 1-2 again (the world may have
  // changed while writing), renames it over path() and fsyncs the directory.
  // Throws fs.write (or the check's error; the temporary is then removed).
  void commit();

 private:
  std::filesystem::path m_path, m_temporary;
  OutputRule m_rule;
  std::string m_what;
  bool m_committed = false;
};

// Renames a complete `from` over `to` durably (fsync file, rename, fsync
// directory). Throws fs.write.
void publish_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Rule 4's fsync, done early: the file's written data are flushed behind its
// writer, on a helper thread, so the fsync that publishes the file finds
// little left. Direct (O_DIRECT) writes leave no dirty page to flush, but on
// a VM the device's cache still holds them: fsyncing a fresh 512 MiB volume
// cost 0.28-0.41 s at publish on the 2-core VM, against 0.01 s once each
// round's slab had been synced as it landed. The publishing fsync stays,
// and stays what makes the file durable; this only moves the wait off the
// end of the run.
class SyncBehind {
 public:
  // `fd` stays the caller's and must stay open until finish() returns.
  explicit SyncBehind(int fd) noexcept : m_fd(fd) {}
  SyncBehind(const SyncBehind&) = delete;
  SyncBehind& operator=(const SyncBehind&) = delete;
  ~SyncBehind() { finish(); }

  // Asks for an fdatasync of everything written so far; never blocks on
  // it. Asks made while one runs are served together by the next. Where no
  // thread can be started the data wait for the publishing fsync, as before.
  void behind() noexcept;
  // Waits for the fdatasync in progress (one asked for and not yet begun is
  // left to the publishing fsync) and stops the thread. Returns 0 or the
  // errno of the first fdatasync that failed: an error reported to one
  // descriptor's sync is not reported again to another's, so the caller
  // must raise it.
  int finish() noexcept;
  // fdatasyncs done so far (tests).
  std::int64_t synced() const;

 private:
  void run();

  int m_fd;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::int64_t m_asked = 0, m_begun = 0, m_synced = 0;
  int m_error = 0;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace beamflow::fs
