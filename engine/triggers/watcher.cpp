#include "triggers/watcher.hpp"

#include <fnmatch.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "core/error.hpp"
#include "core/time.hpp"
#include "pilot/intake.hpp"
#include "triggers/event.hpp"

namespace beamflow::triggers {
namespace fsys = std::filesystem;

namespace {

constexpr std::uint64_t kInotifyToken = 1;
constexpr std::uint64_t kTimerToken = 2;
constexpr std::size_t kBatch = 4096;  // events handled per on_ready()
// A file is reported when closed after writing or moved in; its creation
// only matters to a quiescence rule (a writer that never closes) and, for
// directories, to a recursive registration: without either, IN_CREATE is not
// asked for (half the events of a burst, so fewer queue overflows).
// IN_MASK_ADD: registrations sharing a directory add their needs.
std::uint32_t dir_mask(const Registration& r) {
  return IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD |
         (r.quiet_seconds > 0 || r.recursive ? IN_CREATE : 0u);
}

std::string read_proc(const char* file) {
  std::ifstream in(file);
  std::string v;
  in >> v;
  return v.empty() ? "?" : v;
}

[[noreturn]] void watch_failed(const fsys::path& dir, int err) {
  if (err == ENOSPC) {
    const std::string limit = read_proc("/proc/sys/fs/inotify/max_user_watches");
    throw Error("trigger.watch.limit", states_error::Runtime,
                "the inotify watch limit is reached (fs.inotify.max_user_watches = " + limit +
                    ", one watch per directory of a recursive registration): raise it, e.g. `sysctl -w "
                    "fs.inotify.max_user_watches=" +
                    (limit == "?" ? std::string("1048576") : std::to_string(std::stoull(limit) * 4)) +
                    "` (and in /etc/sysctl.d/ to keep it; inside a user namespace the bound is user.max_inotify_watches)",
                {{"dir", dir.string()}, {"max_user_watches", limit}});
  }
  throw Error("trigger.watch.io", states_error::Runtime, std::string("cannot watch the directory: ") + std::strerror(err),
              {{"dir", dir.string()}});
}

// How long a file must stay unchanged to count as written: the
// registration's quiet time, and 1 s for files a rescan finds under a
// registration without the rule (they may be in the middle of being written).
std::int64_t settle_ms(const Registration& r) {
  return r.quiet_seconds > 0 ? static_cast<std::int64_t>(r.quiet_seconds * 1000) : 1000;
}

}  // namespace

WatcherStats Watcher::stats() const {
  WatcherStats s = m_stats;
  s.submitted = m_submitter.submitted;
  s.already = m_submitter.already;
  s.errors = m_submitter.errors;
  s.batches = m_submitter.batches;
  s.queue_overflows = m_drain.overflows();
  return s;
}

Json WatcherStats::to_json() const {
  return {{"events", events},       {"submitted", submitted},   {"already_submitted", already},
          {"overflows", overflows}, {"queue_overflows", queue_overflows},
          {"rescans", rescans},     {"timer_firings", timer_firings},
          {"errors", errors},       {"watches", watches},       {"batches", batches}};
}

Watcher::Watcher(fsys::path pilot_dir, Log log, int submitters, std::size_t queue)
    : m_pilot(std::move(pilot_dir)),
      m_log(log ? std::move(log) : [](const std::string&) {}),
      m_drain(m_inotify, queue),
      m_submitter(m_pilot, submitters, m_log) {
  const fsys::path reg_dir = prepare_registrations_dir(m_pilot);
  m_poller.add(m_drain.fd(), kInotifyToken);
  m_poller.add(m_timer.fd(), kTimerToken);
  m_registrations_wd = m_inotify.watch(reg_dir, IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
  if (m_registrations_wd < 0) watch_failed(reg_dir, -m_registrations_wd);
  load();
}

void Watcher::load() {
  for (const auto& [wd, entries] : m_dirs) m_inotify.unwatch(wd);
  m_dirs.clear();
  m_pending.clear();
  m_regs = list(m_pilot);
  // A watch on a directory that is not there watches nothing: refused, so a
  // pilot never runs without the trigger it was given.
  for (const auto& r : m_regs) {
    struct stat st {};
    if (r.is_timer() || (::stat(r.watch_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) continue;
    throw Error("trigger.watch.missing", states_error::Runtime,
                "registration '" + r.id + "' watches " + r.watch_dir.string() +
                    ", which is missing or not a directory: create it (or `beamflow trigger remove " + r.id + "`)",
                {{"registration", r.id}, {"dir", r.watch_dir.string()}});
  }
  m_definitions.clear();
  m_shared_regs.clear();
  for (const auto& r : m_regs) {
    m_definitions.push_back(std::make_shared<const Json>(r.definition));
    m_shared_regs.push_back(std::make_shared<const Registration>(r));
  }
  std::map<std::size_t, std::int64_t> fired;
  m_fired.swap(fired);
  rescan();
}

bool Watcher::registrations_changed() const {
  const auto now = list(m_pilot);
  return !std::equal(now.begin(), now.end(), m_regs.begin(), m_regs.end(),
                     [](const Registration& a, const Registration& b) { return a.content() == b.content(); });
}

void Watcher::rescan() {
  ++m_stats.rescans;
  const std::int64_t now = now_ms();
  for (std::size_t i = 0; i < m_regs.size(); ++i) {
    if (!m_regs[i].is_timer()) add_tree(i, m_regs[i].watch_dir, now);
  }
  m_stats.watches = m_dirs.size();
  fire_timers(now);
  check_pending(now);
  flush();
  rearm(now_ms());
}

void Watcher::add_tree(std::size_t reg, const fsys::path& dir, std::int64_t now) {
  const int wd = m_inotify.watch(dir, dir_mask(m_regs[reg]));
  if (wd == -ENOENT || wd == -ENOTDIR) return;  // gone meanwhile
  if (wd < 0) watch_failed(dir, -wd);
  auto& entries = m_dirs[wd];
  if (std::find(entries.begin(), entries.end(), std::make_pair(reg, dir)) == entries.end())
    entries.emplace_back(reg, dir);
  // Listed after the watch: nothing falls between the two. The entry's
  // type is readdir's d_type where the file system gives it (an lstat(2)
  // only where it does not): a rescan's cost is per file, and most files it
  // sees are handed over already. A symlink is never followed.
  std::error_code ec;
  for (fsys::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_symlink(type_ec) || type_ec) continue;
    if (it->is_directory(type_ec)) {
      if (m_regs[reg].recursive) add_tree(reg, it->path(), now);
    } else if (!type_ec && it->is_regular_file(type_ec)) {
      file_seen(reg, it->path(), Seen::Found, now);
    }
  }
}

// Complete (closed after writing, moved in): submitted now. Created: waits
// for quiescence when the registration asks for it (else for its close).
// Found by a rescan: submitted when already settled, else waits like a
// created file.
void Watcher::file_seen(std::size_t reg, const fsys::path& path, Seen how, std::int64_t now) {
  const Registration& r = m_regs[reg];
  if (::fnmatch(r.pattern.c_str(), path.filename().c_str(), FNM_PERIOD) != 0) return;
  if (how == Seen::Complete) {
    submit_file(reg, path);
    return;
  }
  if (how == Seen::Created && r.quiet_seconds <= 0) return;  // its close or move-in reports it
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  const std::int64_t quiet_ms = settle_ms(r);
  if (how == Seen::Found && now - mtime_ns(st) / 1000000 >= quiet_ms) {
    submit_file(reg, path, &st);
    return;
  }
  m_pending[{reg, path}] = Pending{static_cast<std::uint64_t>(st.st_size), mtime_ns(st), now};
  const std::int64_t at = now + std::min(quiet_ms, std::max<std::int64_t>(50, quiet_ms / 4));
  if (m_next_pending_check_ms < 0 || at < m_next_pending_check_ms) m_next_pending_check_ms = at;
}

void Watcher::submit_file(std::size_t reg, const fsys::path& path, const struct stat* seen) {
  const Registration& r = m_regs[reg];
  m_pending.erase({reg, path});
  if (!seen) {
    // An event: stat'ed and described by the submitter thread that hands
    // it over, so this loop goes back to reading events at once.
    Submitter::Job job;
    job.definition = m_definitions[reg];
    job.registration = m_shared_regs[reg];
    job.file = path.string();
    m_outgoing.push_back(std::move(job));
    if (m_outgoing.size() >= Submitter::kMaxBatch) flush();
    return;
  }
  const FileEvent e = file_event(r, path.string(), *seen);  // just stat'ed by the caller (a rescan)
  std::string id = file_submission_id(r, e);
  // Found by a rescan (after an overflow or a restart, mostly files handed
  // over before): a lookup in the ledger here instead of an input to make
  // and a queued hand-off. A new event's file is checked by the intake alone.
  if (m_submitter.handed_over(id)) return;
  Json input = file_input(r, e, id);
  m_outgoing.push_back({.submission_id = std::move(id),
                        .definition = m_definitions[reg],
                        .input = std::move(input),
                        .label = Submitter::file_label(e.path, r.id),
                        .registration = nullptr,  // described here, not on a submitter thread
                        .file = {}});
  if (m_outgoing.size() >= Submitter::kMaxBatch) flush();  // a long rescan starts handing over early
}

void Watcher::flush() { m_submitter.push(std::exchange(m_outgoing, {})); }

void Watcher::check_pending(std::int64_t now) {
  for (auto it = m_pending.begin(); it != m_pending.end();) {
    const auto [reg, path] = it->first;
    Pending& p = it->second;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      it = m_pending.erase(it);
      continue;
    }
    if (static_cast<std::uint64_t>(st.st_size) != p.size || mtime_ns(st) != p.mtime_ns) {
      p = Pending{static_cast<std::uint64_t>(st.st_size), mtime_ns(st), now};
      ++it;
      continue;
    }
    const std::int64_t quiet_ms = settle_ms(m_regs[reg]);
    ++it;  // submit_file erases the entry
    if (now - p.stable_since_ms >= quiet_ms) submit_file(reg, path);
  }
  m_next_pending_check_ms = -1;
  for (const auto& [key, p] : m_pending) {
    const std::int64_t quiet_ms = settle_ms(m_regs[key.first]);
    // Again when it would be quiet, and at least every quiet/4 to see changes.
    const std::int64_t at = std::min(p.stable_since_ms + quiet_ms, now + std::max<std::int64_t>(50, quiet_ms / 4));
    if (m_next_pending_check_ms < 0 || at < m_next_pending_check_ms) m_next_pending_check_ms = at;
  }
}

void Watcher::fire_timers(std::int64_t now) {
  for (std::size_t i = 0; i < m_regs.size(); ++i) {
    const Registration& r = m_regs[i];
    if (!r.is_timer()) continue;
    const std::int64_t instant = last_instant(r, now);
    if (instant < 0) continue;
    if (auto it = m_fired.find(i); it != m_fired.end() && it->second >= instant) continue;
    const auto outcome =
        m_submitter.hand_over({.submission_id = timer_submission_id(r, instant),
                               .definition = m_definitions[i],
                               .input = timer_input(r, instant),
                               .label = "timer " + r.id + " (instant " + format_time_ms(instant) + ")",
                               .registration = nullptr,
                               .file = {}});
    if (outcome == Submitter::Outcome::Failed) continue;  // again at the next wake-up
    m_fired[i] = instant;
    if (outcome == Submitter::Outcome::Submitted) ++m_stats.timer_firings;
  }
}

void Watcher::rearm(std::int64_t now) {
  std::int64_t at = m_next_pending_check_ms;
  for (const auto& r : m_regs) {
    if (!r.is_timer()) continue;
    const std::int64_t t = next_instant(r, now);
    if (t >= 0 && (at < 0 || t < at)) at = t;
  }
  m_timer.arm_at(at);
}

void Watcher::handle_events() {
  const auto events = m_drain.take(kBatch);
  m_stats.events += events.size();
  const std::int64_t now = now_ms();
  bool overflow = false, reload = false;
  for (const auto& ev : events) {
    if (ev.mask & IN_Q_OVERFLOW) {
      overflow = true;
      continue;
    }
    if (ev.wd == m_registrations_wd) {
      if (!ev.name.empty() && ev.name.front() != '.') reload = true;
      continue;
    }
    const auto found = m_dirs.find(ev.wd);
    if (found == m_dirs.end()) continue;
    if (ev.mask & IN_IGNORED) {  // the directory went away
      m_dirs.erase(found);
      continue;
    }
    if (ev.name.empty()) continue;
    const auto entries = found->second;  // add_tree may grow m_dirs
    for (const auto& [reg, dir] : entries) {
      const fsys::path path = dir / ev.name;
      if (ev.mask & IN_ISDIR) {
        if ((ev.mask & (IN_CREATE | IN_MOVED_TO)) && m_regs[reg].recursive) add_tree(reg, path, now);
      } else if (ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        file_seen(reg, path, Seen::Complete, now);
      } else if (ev.mask & IN_CREATE) {
        file_seen(reg, path, Seen::Created, now);
      }
    }
  }
  m_stats.watches = m_dirs.size();
  // An overflow may have lost the registrations' events too.
  if (overflow && !reload) reload = registrations_changed();
  if (reload) {
    m_log("registrations changed: reloading");
    load();
  } else if (overflow) {
    ++m_stats.overflows;
    m_log("inotify queue overflow: rescanning");
    rescan();
  }
}

void Watcher::on_ready() {
  for (const std::uint64_t token : m_poller.wait(0)) {
    if (token == kInotifyToken) handle_events();
    if (token == kTimerToken) m_timer.drain();
  }
  const std::int64_t now = now_ms();
  fire_timers(now);
  if (m_next_pending_check_ms >= 0 && now >= m_next_pending_check_ms) check_pending(now);
  flush();  // this wake-up's events: one push, handed over in batches
  rearm(now_ms());
}

void Watcher::run(int stop_fd) {
  constexpr std::uint64_t kMine = 1, kStop = 2;
  fs::Poller poller;
  poller.add(fd(), kMine);
  poller.add(stop_fd, kStop);
  for (;;) {
    for (const auto token : poller.wait(-1)) {
      if (token == kStop) return;
      if (token == kMine) on_ready();
    }
  }
}

}  // namespace beamflow::triggers
