#include "pilot/run_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "run/paths.hpp"

namespace beamflow::pilot {

std::filesystem::path RunLogs::file(const std::filesystem::path& runs_root, const std::string& run_id) {
  return run::run_dir(runs_root, run_id) / "log";
}

void RunLogs::add(const std::string& run_id, const std::string& line) { add(run_id, line, false); }

void RunLogs::add_last(const std::string& run_id, const std::string& line) { add(run_id, line, true); }

void RunLogs::add(const std::string& run_id, const std::string& line, bool last) {
  const std::int64_t now = now_ms();
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (now != m_stamp_ms) {  // a round's lines share one formatted time
    m_stamp_ms = now;
    m_stamp = format_time_ms(now);
  }
  auto [it, fresh] = m_pending.try_emplace(run_id);
  Held& held = it->second;
  if (fresh) held.due_ms = now + kHoldMs;
  held.last = held.last || last;
  m_next_due = std::min(m_next_due, held.last ? now : held.due_ms);
  held.text += m_stamp;
  held.text += ' ';
  held.text += line;
  held.text += '\n';
}

void RunLogs::flush(std::int64_t now) { write(false, now); }

void RunLogs::flush_all() { write(true, now_ms()); }

std::int64_t RunLogs::next_due_ms() const {
  const std::lock_guard<std::mutex> lock(m_mutex);
  return m_next_due;
}

void RunLogs::write(bool all, std::int64_t now) {
  std::vector<std::pair<std::string, Held>> due;
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_next_due = INT64_MAX;
    for (auto it = m_pending.begin(); it != m_pending.end();) {
      if (all || it->second.last || it->second.due_ms <= now) {
        due.emplace_back(it->first, std::move(it->second));
        it = m_pending.erase(it);
      } else {
        m_next_due = std::min(m_next_due, it->second.due_ms);
        ++it;
      }
    }
  }
  std::vector<std::pair<std::string, Held>> keep;
  for (auto& [run_id, held] : due) {
    const std::string& text = held.text;
    const int fd = ::open(file(m_root, run_id).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      // The run's directory is not made yet: kept for the next round, unless
      // there is more than a starting run writes.
      // Tried again a hold later, not at every round: a run that ends
      // before its directory is made would keep a last line due forever.
      if (errno == ENOENT && std::count(text.begin(), text.end(), '\n') < static_cast<long>(kHeldLines)) {
        held.last = false;
        held.due_ms = now + kHoldMs;
        keep.emplace_back(run_id, std::move(held));
      }
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
  for (auto& [run_id, held] : keep) {
    // Lines added meanwhile follow the kept ones.
    auto [it, fresh] = m_pending.try_emplace(run_id, held);
    Held& merged = it->second;
    if (!fresh) {
      merged.text.insert(0, held.text);
      merged.due_ms = std::min(merged.due_ms, held.due_ms);
    }
    m_next_due = std::min(m_next_due, merged.last ? now : merged.due_ms);
  }
}

}  // namespace beamflow::pilot
