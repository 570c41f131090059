#pragma once
// The trigger watcher: turns file events and timer instants into flows
// handed to a pilot directory (pilot/intake.hpp), exactly once.
//
// Shaped like run::EventSource (fd() + on_ready()): fd() is an epoll set of
// the watcher's inotify instance and its timerfd, so the pilot's coordinator
// can host it in its own loop; `beamflow trigger watch` runs it alone.
//
// How a file becomes one submission, never two, never none:
//   - inotify reports IN_CLOSE_WRITE (a writer closed the file) and
//     IN_MOVED_TO (a file renamed into the directory) at once; a file
//     created (IN_CREATE) but never closed is submitted once its size and
//     mtime stayed the same for the registration's quiet_seconds (0: no
//     such rule; such files wait for a close, a move-in or a rescan);
//   - the submission id is derived from (registration, device, inode, size,
//     mtime) (event.hpp), and the batch file that holds it is the ledger
//     (pilot/intake_batch.hpp's BatchLedger): it is the hand-off itself,
//     durable (fsync'ed) before submit() returns, and a second hand-off of
//     the same id is a no-op (known from memory: the watcher holds the
//     pilot directory's watcher lock, and indexes every hand-off at start);
//   - a rescan submits whatever is not yet submitted: at start (files that
//     arrived while no watcher ran), after IN_Q_OVERFLOW (events were lost,
//     the registrations' too: they are read again and reloaded if changed),
//     and when the registrations change. A file seen by a rescan is
//     submitted when its mtime is older than quiet_seconds (1 s when the
//     registration has no quiet time: it may be half-written), else it
//     waits for quiescence like a new file;
//   - watches come before scans: a directory is watched, then listed, so a
//     file lands either before the listing (found) or after the watch
//     (reported); directories created later under a recursive registration
//     are watched and listed the same way.
// Events are read from inotify on a thread of their own (event_drain.hpp)
// into a bounded queue, so the kernel's queue does not overflow while this
// loop hands over or rescans; a full queue is an overflow like the kernel's.
// Hand-offs run on `submitters` threads of their own (submitter.hpp), in
// batches: the files of one wake-up (up to 4,096 events) are queued at once,
// and each submitter thread stats and describes the files it takes (their
// id and input) and hands over whatever is queued as one batch file, so
// on_ready() only reads events, never waits for fsyncs, and a burst costs
// a few. A hand-off that fails (pilot
// directory I/O) is logged and counted in errors; one still queued when the
// watcher stops is dropped; the next rescan (the watcher's restart) submits
// both.
//
// Timers: at start and at each wake-up, a timer whose latest scheduled
// instant (event.hpp, last_instant) has no submission yet submits it with
// the id (registration, instant). Catch-up rule: instants missed while no
// watcher ran are coalesced into one firing, the latest one; instants
// before the registration never fire; a restart never fires an instant
// twice.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "platform/events.hpp"
#include "triggers/event_drain.hpp"
#include "triggers/registration.hpp"
#include "triggers/submitter.hpp"

namespace beamflow::triggers {

struct WatcherStats {
  std::uint64_t events = 0;     // inotify events read
  std::uint64_t submitted = 0;  // new submissions handed to the pilot directory
  std::uint64_t already = 0;    // seen again, already submitted (a no-op)
  std::uint64_t overflows = 0;  // IN_Q_OVERFLOW seen (each causes a rescan)
  std::uint64_t queue_overflows = 0;  // of which: the drain's own queue was full
  std::uint64_t rescans = 0;
  std::uint64_t timer_firings = 0;  // included in submitted
  std::uint64_t errors = 0;     // failed hand-offs (logged)
  std::uint64_t watches = 0;    // directories watched now
  std::uint64_t batches = 0;    // hand-off batches (each: one data sync, one inbox fsync)
  Json to_json() const;
};

class Watcher {
 public:
  using Log = std::function<void(const std::string&)>;
  // Loads the registrations of `pilot_dir`, watches their directories and
  // rescans them, fires due timers. Throws trigger.watch.limit when
  // max_user_watches is reached, trigger.watch.missing when a watched
  // directory is missing (also when the registrations are reloaded),
  // pilot.dir.unsafe for a directory that is not ours.
  // `queue`: inotify events read ahead at most (event_drain.hpp).
  explicit Watcher(std::filesystem::path pilot_dir, Log log = {}, int submitters = 2,
                   std::size_t queue = EventDrain::kDefaultCapacity);

  int fd() const noexcept { return m_poller.fd(); }
  // Handles what is ready (a bounded batch of events, due timers, quiescent
  // files); never blocks.
  void on_ready();
  // The watcher's own loop: on_ready() whenever fd() is readable, until
  // `stop_fd` is (an eventfd, a signal's descriptor). `beamflow trigger
  // watch` runs it on its main thread, a pilot on a thread beside its
  // coordinator.
  void run(int stop_fd);
  WatcherStats stats() const;
  // Blocks until every hand-off queued so far is done.
  void wait_idle() { m_submitter.wait_idle(); }
  std::size_t registrations() const noexcept { return m_regs.size(); }
  // Files seen but not yet quiet (waiting for their quiet_seconds).
  std::size_t pending_files() const noexcept { return m_pending.size(); }

 private:
  struct Pending {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t stable_since_ms = 0;
  };
  void load();
  void rescan();
  bool registrations_changed() const;  // D/triggers/ differs from m_regs
  void add_tree(std::size_t reg, const std::filesystem::path& dir, std::int64_t now);
  enum class Seen { Complete, Created, Found };
  void file_seen(std::size_t reg, const std::filesystem::path& path, Seen how, std::int64_t now);
  // `seen`: its stat(2), when a rescan just made it (and a file handed over
  // before is then skipped here, not queued).
  void submit_file(std::size_t reg, const std::filesystem::path& path, const struct stat* seen = nullptr);
  void flush();  // hands m_outgoing to the submitter
  void check_pending(std::int64_t now);
  void fire_timers(std::int64_t now);
  void rearm(std::int64_t now);
  void handle_events();

  std::filesystem::path m_pilot;
  Log m_log;
  fs::Poller m_poller;
  fs::DirWatch m_inotify;
  EventDrain m_drain;  // after m_inotify: stopped and joined before it closes
  fs::Timer m_timer;
  int m_registrations_wd = -1;
  std::vector<Registration> m_regs;
  std::vector<std::shared_ptr<const Json>> m_definitions;  // per registration, shared with queued hand-offs
  std::vector<std::shared_ptr<const Registration>> m_shared_regs;  // the same: queued file events describe with it
  std::map<int, std::vector<std::pair<std::size_t, std::filesystem::path>>> m_dirs;  // wd -> (reg, dir)
  std::map<std::pair<std::size_t, std::filesystem::path>, Pending> m_pending;
  std::map<std::size_t, std::int64_t> m_fired;  // timer reg -> last instant handed over
  std::int64_t m_next_pending_check_ms = -1;
  WatcherStats m_stats;
  std::vector<Submitter::Job> m_outgoing;  // files seen in this wake-up, not yet queued
  Submitter m_submitter;  // last: destroyed (joined) first
};

}  // namespace beamflow::triggers
