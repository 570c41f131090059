#include "jobs/tomography/replaced_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <vector>

namespace beamflow::jobs {

namespace {
// The helper threads of this process. The last copy of a std::async future
// waits for its thread when destroyed, so at exit, when this list holds the
// last copies, the process waits for every close it started.
class PendingCloses {
 public:
  std::shared_future<void> close(int fd) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_closes, [](const std::shared_future<void>& f) {
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    m_closes.reserve(m_closes.size() + 1);  // once the thread runs, nothing here throws
    return m_closes.emplace_back(std::async(std::launch::async, [fd] { ::close(fd); }).share());
  }

 private:
  std::mutex m_mutex;
  std::vector<std::shared_future<void>> m_closes;
};

PendingCloses& pending_closes() {
  static PendingCloses closes;
  return closes;
}
}  // namespace

ReplacedFile::ReplacedFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    m_fd = fd;
  else if (fd >= 0)
    ::close(fd);
}

ReplacedFile::~ReplacedFile() {
  if (m_fd >= 0) ::close(m_fd);
}

std::shared_future<void> ReplacedFile::release() && {
  if (m_fd >= 0) {
    try {
      const std::shared_future<void> closed = pending_closes().close(m_fd);
      m_fd = -1;
      return closed;
    } catch (...) {  // no thread to spare: the destructor closes it here
    }
  }
  std::promise<void> nothing_held;
  nothing_held.set_value();
  return nothing_held.get_future().share();
}

}  // namespace beamflow::jobs
