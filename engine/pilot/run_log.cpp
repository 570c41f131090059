#include "pilot/run_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "run/paths.hpp"

namespace beamflow::pilot {

std::filesystem::path RunLogs::file(const std::filesystem::path& runs_root, const std::string& run_id) {
  return run::run_dir(runs_root, run_id) / "log";
}

void RunLogs::add(const std::string& run_id, const std::string& line) {
  const std::int64_t now = now_ms();
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (now != m_stamp_ms) {  // a round's lines share one formatted time
    m_stamp_ms = now;
    m_stamp = format_time_ms(now);
  }
  std::string& text = m_pending[run_id];
  text += m_stamp;
  text += ' ';
  text += line;
  text += '\n';
}

void RunLogs::flush() {
  std::map<std::string, std::string> lines;
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    if (m_pending.empty()) return;
    lines.swap(m_pending);
  }
  std::vector<std::pair<std::string, std::string>> keep;
  for (auto& [run_id, text] : lines) {
    const int fd = ::open(file(m_root, run_id).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      // The run's directory is not made yet: kept for the next round, unless
      // there is more than a starting run writes.
      if (errno == ENOENT && std::count(text.begin(), text.end(), '\n') < static_cast<long>(kHeldLines))
        keep.emplace_back(run_id, std::move(text));
      continue;
    }
    for (std::size_t off = 0; off < text.size();) {
      const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
      if (n <= 0) break;  // a view: a full disk loses lines, never a run
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  if (keep.empty()) return;
  const std::lock_guard<std::mutex> lock(m_mutex);
  for (auto& [run_id, text] : keep) m_pending[run_id].insert(0, text);
}

}  // namespace beamflow::pilot
