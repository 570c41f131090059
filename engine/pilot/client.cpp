#include "pilot/client.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "pilot/intake.hpp"
#include "pilot/run_log.hpp"
#include "platform/events.hpp"
#include "platform/fs.hpp"
#include "run/paths.hpp"

namespace beamflow::pilot {
namespace {

namespace stdfs = std::filesystem;

bool ended(const run::RunSummary& s) { return s.status == "SUCCEEDED" || s.status == "FAILED"; }

// A run not under runs/ yet whose submission waits in inbox/, or is in
// accepted/ without its run: one that a pilot will start. A pilot moves a
// submission to accepted/ only once its run's journal holds the run's start
// (coordinator.cpp); a crash that kept the move but not the run's creation
// leaves it there, and the next pilot starts it.
std::optional<run::RunSummary> queued(const stdfs::path& dir, const std::string& run_id) {
  if (!stdfs::is_directory(dir / "inbox")) return std::nullopt;
  // A damaged file is the pilot's to report, not a lookup's.
  for (const auto& s : list_readable(dir).ready) {
    if (s.run_id != run_id) continue;
    run::RunSummary r;
    r.run_id = run_id;
    r.status = "QUEUED";
    r.started = format_time_ms(s.submitted_at_ms);
    return r;
  }
  return std::nullopt;
}

// runs/ first, then the submissions (queued()), then runs/ again: a run
// made while the submissions were listed, whose submission the listing
// missed (removed from accepted/ meanwhile, or left out as unreadable), is
// found rather than called unknown.
std::optional<run::RunSummary> lookup(const stdfs::path& dir, const std::string& run_id) {
  if (auto s = run::summarize_run(dir / "runs", run_id)) return s;
  if (auto q = queued(dir, run_id)) return q;
  return run::summarize_run(dir / "runs", run_id);
}

// Whether a process holds the pilot's lock (a pilot runs on the directory).
bool pilot_alive(const stdfs::path& dir) {
  return fs::FileLock::is_held(dir / "pilot.lock");
}

// The running pilot's worker ranks grouped by the host they run on, hosts in
// the order of their first rank: [{host, ranks: [n..], busy, lost}].
Json ranks_by_node(const Json& pilot) {
  Json nodes = Json::array();
  if (!pilot.is_object() || !pilot.contains("ranks")) return nodes;
  for (const Json& r : pilot["ranks"]) {
    const std::string host = r.value("host", std::string());
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Json& n) { return n["host"] == host; });
    if (it == nodes.end()) {
      nodes.push_back({{"host", host}, {"ranks", Json::array()}, {"busy", 0}, {"lost", 0}});
      it = nodes.end() - 1;
    }
    (*it)["ranks"].push_back(r.value("rank", 0));
    if (r.value("busy", false)) (*it)["busy"] = (*it)["busy"].get<int>() + 1;
    if (r.value("lost", false)) (*it)["lost"] = (*it)["lost"].get<int>() + 1;
  }
  return nodes;
}

}  // namespace

run::RunSummary find_run(const stdfs::path& dir, const std::string& run_id) {
  if (auto s = lookup(dir, run_id)) return *s;
  throw Error("pilot.run.unknown", states_error::Runtime, "no run '" + run_id + "' in this pilot directory",
              {{"run_id", run_id}, {"dir", dir.string()}});
}

Json pilot_status(const stdfs::path& dir) {
  if (!stdfs::is_directory(dir / "inbox"))
    throw Error("pilot.dir.missing", states_error::Runtime, "not a pilot directory (no inbox/): " + dir.string(),
                {{"dir", dir.string()}});
  Json runs = Json::object();
  for (const auto& s : run::list_runs(dir / "runs")) runs[s.status] = runs.value(s.status, 0) + 1;
  const Pending p = pending(dir);
  Json pilot = nullptr;
  const bool alive = pilot_alive(dir);
  if (alive) {
    try {
      if (auto j = try_parse_json(fs::read_file(dir / "status.json"))) pilot = *j;
    } catch (const std::exception&) {
      // not published yet
    }
  }
  return {{"dir", dir.string()}, {"alive", alive},           {"runs", runs}, {"queued", p.ready.size()},
          {"pilot", pilot},      {"nodes", ranks_by_node(pilot)}};
}

stdfs::path run_log_file(const stdfs::path& dir, const std::string& run_id) {
  return RunLogs::file(dir / "runs", run_id);
}

std::string current_state(const stdfs::path& dir, const std::string& run_id) {
  const int fd = ::open(run_log_file(dir, run_id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char tail[8192];
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t from = std::max<off_t>(0, size - static_cast<off_t>(sizeof tail));
  const ssize_t n = size > 0 ? ::pread(fd, tail, static_cast<std::size_t>(size - from), from) : 0;
  ::close(fd);
  if (n <= 0) return "";
  const std::string_view text(tail, static_cast<std::size_t>(n));
  // The later of "placed STATE (ACTION) ..." (a rank) and "started STATE
  // (ACTION) ... on the coordinator" (a task that only waits).
  const auto placed = text.rfind(" placed "), started = text.rfind(" started ");
  std::size_t at = std::string_view::npos, skip = 0;
  if (placed != std::string_view::npos) at = placed, skip = 8;
  if (started != std::string_view::npos && (at == std::string_view::npos || started > at)) at = started, skip = 9;
  if (at == std::string_view::npos) return "";
  const auto name = text.substr(at + skip);
  return std::string(name.substr(0, name.find(" (")));
}

void request_cancel(const stdfs::path& dir, const std::string& run_id) {
  const run::RunSummary s = find_run(dir, run_id);
  if (ended(s))
    throw Error("pilot.run.ended", states_error::Runtime, "run '" + run_id + "' has already ended " + s.status,
                {{"run_id", run_id}, {"status", s.status}});
  prepare_pilot_dir(dir);
  fs::write_file_atomic(dir / "cancel" / run_id, format_time_ms(now_ms()) + "\n");
}

std::optional<run::RunSummary> wait_for_run(const stdfs::path& dir, const std::string& run_id,
                                            std::chrono::milliseconds timeout,
                                            const std::function<void(const run::RunSummary&)>& progress) {
  return RunWaiter(dir).wait(run_id, timeout, progress);
}

struct RunWaiter::Watch {
  // inotify only wakes the wait early. A user who already holds all the
  // inotify instances allowed (fs.inotify.max_user_instances, 128 by
  // default, shared by every process of the user: editors, other waits,
  // pilots) still gets an answer, by looking four times a second.
  std::optional<fs::DirWatch> dirs;
  fs::Poller poller;
};

RunWaiter::RunWaiter(stdfs::path dir) : m_dir(std::move(dir)) {}
RunWaiter::~RunWaiter() = default;

run::RunSummary RunWaiter::look(const std::string& run_id, bool& queued) {
  if (queued) {
    // Known QUEUED: it leaves inbox/ only for runs/.
    if (auto s = run::summarize_run(m_dir / "runs", run_id)) {
      queued = false;
      return *s;
    }
    run::RunSummary r;
    r.run_id = run_id;
    r.status = "QUEUED";
    return r;
  }
  run::RunSummary s = find_run(m_dir, run_id);
  queued = s.status == "QUEUED";
  return s;
}

std::optional<run::RunSummary> RunWaiter::wait(const std::string& run_id, std::chrono::milliseconds timeout,
                                               const std::function<void(const run::RunSummary&)>& progress) {
  const std::int64_t give_up = timeout.count() > 0 ? now_ms() + timeout.count() : 0;
  bool queued = false;
  int run_watch = -1;
  struct Unwatch {  // the run's watch ends with this wait (the instance stays)
    RunWaiter& waiter;
    const int& wd;
    ~Unwatch() {
      if (wd >= 0 && waiter.m_watch && waiter.m_watch->dirs) waiter.m_watch->dirs->unwatch(wd);
    }
  } unwatch{*this, run_watch};
  while (true) {
    const run::RunSummary s = look(run_id, queued);
    if (progress) progress(s);
    if (ended(s)) return s;
    if (!m_watch) {
      m_watch = std::make_unique<Watch>();
      m_watch->dirs = fs::DirWatch::try_open();
      if (m_watch->dirs) {
        m_watch->poller.add(m_watch->dirs->fd(), 0);
        // A run directory made (mkdir). The run's own watch (below) sees its
        // end: status.json renamed in, or, for a pilot's run, which writes
        // none, its log closed after the end's line; its start makes no name
        // (layout 2: the journal's first commit), so RUNNING shows at the
        // next look.
        m_watch->dirs->watch(m_dir / "runs", IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
      }
      continue;  // look again: it may have ended while the watch was made
    }
    if (m_watch->dirs && run_watch < 0) {
      run_watch = m_watch->dirs->watch(run::run_dir(m_dir / "runs", run_id), IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
      if (run_watch >= 0) continue;  // watched from now on: look once more
    }
    std::int64_t wait = m_watch->dirs ? 1000 : 250;
    if (give_up) {
      wait = std::min<std::int64_t>(wait, give_up - now_ms());
      if (wait <= 0) return std::nullopt;
    }
    if (!m_watch->poller.wait(wait).empty()) m_watch->dirs->drain();
    else queued = false;  // the fallback look is a whole one (a submission may have vanished)
  }
}

}  // namespace beamflow::pilot
