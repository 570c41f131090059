#pragma once
// Publishing a volume renames it over the file it replaces. When that file
// has no other link and nobody holds it open, the kernel frees its blocks
// inside the rename: 130-240 ms for a 512 MiB volume on the 2-core VM's ext4
// (mounted with online discard), measured with rank 0 publishing and every
// other rank waiting for it at the run's last agreement. Held open across
// the rename, the replaced file keeps its blocks until it is closed, and
// closing it on a helper thread frees them while the ranks finish (the last
// agreement, MPI_Finalize) instead of before.
//
// What stays the same: the replaced file is whole until the rename (the one
// output rule, platform/output_file.hpp); a process killed while the helper
// thread closes loses nothing (the kernel closes the file at exit).
#include <filesystem>
#include <future>

namespace beamflow::jobs {

class ReplacedFile {
 public:
  // Opens `path` read-only when it is a regular file; otherwise holds
  // nothing (a first run, or a path that cannot be opened: then the rename
  // frees the file as before).
  explicit ReplacedFile(const std::filesystem::path& path);
  // Closes the file on this thread when release() was not called (the
  // rename failed: the file keeps its name and its blocks).
  ~ReplacedFile();
  ReplacedFile(const ReplacedFile&) = delete;
  ReplacedFile& operator=(const ReplacedFile&) = delete;

  bool held() const noexcept { return m_fd >= 0; }
  // Closes the file on a helper thread. The returned future is ready once
  // it is closed; the process waits for every such thread at exit.
  std::shared_future<void> release() &&;

 private:
  int m_fd = -1;
};

}  // namespace beamflow::jobs
