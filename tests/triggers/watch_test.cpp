// The watcher end to end, through the real binary: exactly one submission
// per file across writers, restarts, a crash and an induced queue overflow;
// quiescence for writers that never close; directories created later; a
// timer across a restart; bad inputs that register nothing.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include "../support/scratch_dir.hpp"
#include "core/error.hpp"
#include "fixture.hpp"
#include "platform/fs.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;
using namespace std::chrono_literals;

// Scratch space on tmpfs when there is one: 10,000 hand-offs each fsync
// twice, which a loaded VM's disk turns into minutes.
fsys::path scratch_root() {
  std::error_code ec;
  return fsys::is_directory("/dev/shm", ec) ? fsys::path("/dev/shm") : fsys::temp_directory_path();
}

struct Scene {
  // on_tmpfs: the pilot and watched directories on tmpfs (scratch_root()).
  explicit Scene(bool on_tmpfs = false) {
    if (on_tmpfs) {
      space.emplace((scratch_root() / "beamflow-trigger-").string());
      pilot = space->path() / "pilot";
      drop = space->path() / "drop";
    }
    fsys::create_directories(drop);
  }
  ScratchDir dir{"beamflow-trigger-"};
  std::optional<ScratchDir> space;
  fsys::path pilot = dir.path() / "pilot";
  fsys::path drop = dir.path() / "drop";
  fsys::path flow = dir.write("flow.json", R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})");
  fsys::path templ = dir.write("template.json", R"({"file": "{{path}}", "size": "{{size}}", "rel": "{{relative_path}}"})");
  ProcessResult add(std::vector<std::string> extra) const {
    std::vector<std::string> args{"trigger", "add", "--flow", flow.string(), "--input-template", templ.string(),
                                  "--pilot", pilot.string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return beamflow(args);
  }
  // input.file of every submission -> how many submissions name it.
  std::map<std::string, int> submitted_files() const {
    std::map<std::string, int> out;
    for (const auto& f : submissions(pilot)) ++out[f["input"]["file"].get<std::string>()];
    return out;
  }
};

// Writes files drop/NAME_i.dat, i in [from, to), each opened, written and
// closed, by `writers` forked processes; waits for them.
void drop_files(const fsys::path& dir, const std::string& name, int from, int to, int writers) {
  std::vector<Process> children;
  for (int w = 0; w < writers; ++w) {
    children.push_back(Process::fork([=] {
      for (int i = from + w; i < to; i += writers) {
        const std::string p = (dir / (name + "_" + std::to_string(i) + ".dat")).string();
        const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return 1;
        const std::string body = "file " + std::to_string(i) + "\n";
        if (::write(fd, body.data(), body.size()) < 0) return 2;
        ::close(fd);
      }
      return 0;
    }));
  }
  for (auto& c : children) ASSERT_EQ(c.wait().exit_code, 0);
}

// Lowers /proc/sys/fs/inotify/max_queued_events while alive (read when an
// inotify instance is created), and restores it. The setting is the whole
// machine's: two holders at once (ctest -j runs both overflow tests
// together, two build trees' ctest share the machine) would each save the
// other's lowered value and "restore" it, leaving every later watcher with a
// 16-event queue. So holders take an exclusive lock from lowering to
// restoring, and the value they lowered from is kept in a file beside the
// lock: a holder killed before restoring (a ctest timeout) is mended by the
// next one.
class QueueLimit {
 public:
  static constexpr const char* kFile = "/proc/sys/fs/inotify/max_queued_events";
  explicit QueueLimit(int value) {
    try {
      m_lock.emplace(fs::FileLock::acquire(kLock));
    } catch (const Error&) {
      return;  // not ours to change (a lock file another user made): set() is false
    }
    if (std::string saved; std::ifstream(kSaved) >> saved) write(saved);
    std::ifstream(kFile) >> m_old;
    if (m_old.empty()) return;
    std::ofstream(kSaved) << m_old;
    m_set = write(std::to_string(value));
    if (!m_set) std::remove(kSaved);
  }
  ~QueueLimit() { restore(); }
  QueueLimit(const QueueLimit&) = delete;
  QueueLimit& operator=(const QueueLimit&) = delete;
  void restore() {
    if (m_set && write(m_old)) std::remove(kSaved);
    m_set = false;
    m_lock.reset();
  }
  bool set() const { return m_set; }

 private:
  static constexpr const char* kLock = "/tmp/beamflow-test-inotify-queue.lock";
  static constexpr const char* kSaved = "/tmp/beamflow-test-inotify-queue.saved";
  static bool write(const std::string& v) {
    std::ofstream out(kFile);
    out << v;
    out.flush();
    return out.good();
  }
  std::optional<fs::FileLock> m_lock;
  std::string m_old;
  bool m_set = false;
};

TEST(TriggerWatch, TenThousandFilesFourWritersRestartsCrashAndOverflowEachOnce) {
  Scene s(true);
  auto added = s.add({"--watch", s.drop.string(), "--pattern", "*.dat", "--recursive", "--quiet-seconds", "1", "--id", "drop"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  const fsys::path log = s.dir.path() / "watch.log";
  auto count = [&] { return submissions(s.pilot).size(); };

  // 1. 2,000 files while no watcher runs: the start rescan finds them.
  drop_files(s.drop, "down", 0, 2000, 4);
  {
    WatcherProcess w(s.pilot, log);
    ASSERT_TRUE(w.started);
    // 2. 3,000 files into directories created after the start.
    fsys::create_directories(s.drop / "later" / "deeper");
    drop_files(s.drop / "later" / "deeper", "live", 0, 3000, 4);
    ASSERT_TRUE(eventually([&] { return count() >= 5000; })) << count();
    // 3. Killed (no clean stop) while 1,000 files land.
    w.kill(SIGKILL);
    drop_files(s.drop, "crash", 0, 1000, 4);
    w.wait();
  }
  // 4. 4,000 files while the next watcher's queue overflows: its inotify
  // instance gets a queue of 64 events, and it is stopped (SIGSTOP) while
  // the writers run.
  {
    QueueLimit limit(64);
    if (!limit.set()) GTEST_LOG_(INFO) << "cannot lower max_queued_events (not root?): overflow part runs with the "
                                          "system's queue, IN_Q_OVERFLOW is not forced";
    const bool forced = limit.set();
    WatcherProcess w(s.pilot, log);
    limit.restore();  // only this watcher's instance has the small queue
    ASSERT_TRUE(w.started);
    ASSERT_TRUE(eventually([&] { return count() >= 6000; })) << count();
    w.kill(SIGSTOP);
    drop_files(s.drop, "overflow", 0, 4000, 4);
    w.kill(SIGCONT);
    ASSERT_TRUE(eventually([&] { return count() >= 10000; }, 90s)) << count();
    // Quiet for longer than quiet_seconds: nothing more comes.
    std::this_thread::sleep_for(1500ms);
    const auto r = w.stop();
    ASSERT_EQ(r.exit_code, 0) << r.out;
    if (forced) {
      EXPECT_GE(json_of(r.out)["overflows"].get<int>(), 1) << r.out;
    }
  }
  EXPECT_EQ(count(), 10000u);
  const auto files = s.submitted_files();
  EXPECT_EQ(files.size(), 10000u);
  for (const auto& [file, n] : files) ASSERT_EQ(n, 1) << file;
  std::size_t on_disk = 0;
  for (const auto& e : fsys::recursive_directory_iterator(s.drop)) {
    if (!e.is_regular_file()) continue;
    ASSERT_EQ(files.count(e.path().string()), 1u) << e.path();
    ++on_disk;
  }
  EXPECT_EQ(on_disk, 10000u);
  // A rescan of everything submits nothing more.
  const auto again = beamflow({"trigger", "watch", "--pilot", s.pilot.string(), "--once", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(json_of(again.out)["submitted"], 0);
  EXPECT_EQ(json_of(again.out)["already_submitted"], 10000);
  EXPECT_EQ(count(), 10000u);
}

TEST(TriggerWatch, OverflowForcesARescanThatMissesNothing) {
  Scene s(true);
  ASSERT_EQ(s.add({"--watch", s.drop.string(), "--pattern", "*.dat", "--quiet-seconds", "0", "--id", "q"}).exit_code, 0);
  QueueLimit limit(16);
  if (!limit.set()) GTEST_SKIP() << "cannot write " << QueueLimit::kFile << " (not root): an overflow cannot be forced";
  WatcherProcess w(s.pilot, s.dir.path() / "watch.log");
  limit.restore();
  ASSERT_TRUE(w.started);
  w.kill(SIGSTOP);
  drop_files(s.drop, "o", 0, 500, 2);
  w.kill(SIGCONT);
  ASSERT_TRUE(eventually([&] { return submissions(s.pilot).size() >= 500; })) << submissions(s.pilot).size();
  const auto r = w.stop();
  const Json stats = json_of(r.out);
  EXPECT_GE(stats["overflows"].get<int>(), 1) << r.out;
  EXPECT_EQ(stats["submitted"], 500) << r.out;
  EXPECT_EQ(submissions(s.pilot).size(), 500u);
}

TEST(TriggerWatch, AWriterThatNeverClosesIsSubmittedOnceWhenQuiet) {
  Scene s;
  ASSERT_EQ(s.add({"--watch", s.drop.string(), "--pattern", "*.raw", "--quiet-seconds", "1"}).exit_code, 0);
  WatcherProcess w(s.pilot, s.dir.path() / "watch.log");
  ASSERT_TRUE(w.started);
  const fsys::path file = s.drop / "slow.raw";
  // Writes 5 pieces 300 ms apart, then holds the file open until killed.
  auto writer = Process::fork([&] {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 5; ++i) {
      if (::write(fd, "0123456789", 10) != 10) return 1;
      std::this_thread::sleep_for(300ms);
    }
    ::pause();
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return !submissions(s.pilot).empty(); }));
  const auto subs = submissions(s.pilot);
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0]["input"]["size"], 50);  // the whole file, not a piece
  EXPECT_EQ(subs[0]["input"]["file"], file.string());
  // Its close at last (the writer dies): same size and mtime, no second run.
  writer.kill(SIGKILL);
  writer.wait();
  std::this_thread::sleep_for(1500ms);
  const auto r = w.stop();
  EXPECT_EQ(submissions(s.pilot).size(), 1u) << r.out;
}

TEST(TriggerWatch, DirectoriesCreatedAfterTheStartAreWatchedAndScanned) {
  Scene s;
  ASSERT_EQ(s.add({"--watch", s.drop.string(), "--pattern", "*.h5", "--recursive", "--quiet-seconds", "0"}).exit_code, 0);
  WatcherProcess w(s.pilot, s.dir.path() / "watch.log");
  ASSERT_TRUE(w.started);
  // A tree made at once and a file in it at once: the file may land before
  // the watch on its directory exists; the scan after the watch finds it.
  fsys::create_directories(s.drop / "a" / "b" / "c");
  write_text(s.drop / "a" / "b" / "c" / "deep.h5", "x");
  write_text(s.drop / "a" / "top.h5", "y");
  write_text(s.drop / "a" / "ignored.txt", "z");
  // A directory moved in with a file already inside.
  fsys::create_directories(s.dir.path() / "outside" / "m");
  write_text(s.dir.path() / "outside" / "m" / "moved.h5", "m");
  fsys::rename(s.dir.path() / "outside" / "m", s.drop / "m");
  ASSERT_TRUE(eventually([&] { return submissions(s.pilot).size() >= 3; }));
  const auto r = w.stop();
  ASSERT_EQ(r.exit_code, 0);
  const auto files = s.submitted_files();
  EXPECT_EQ(files.size(), 3u);
  EXPECT_EQ(files.count((s.drop / "a/b/c/deep.h5").string()), 1u);
  EXPECT_EQ(files.count((s.drop / "a/top.h5").string()), 1u);
  EXPECT_EQ(files.count((s.drop / "m/moved.h5").string()), 1u);
  EXPECT_EQ(submissions(s.pilot)[0]["definition"]["StartAt"], "A");
}

TEST(TriggerWatch, ATimerAcrossARestartNeverFiresTwiceAndCatchesUpOnce) {
  Scene s;
  s.templ = s.dir.write("timer.json", R"({"at": "{{instant}}", "ms": "{{instant_ms}}", "by": "{{registration}}"})");
  ASSERT_EQ(s.add({"--every", "1s", "--id", "tick"}).exit_code, 0);
  auto instants = [&] {
    std::set<std::int64_t> out;
    for (const auto& f : submissions(s.pilot)) out.insert(f["input"]["ms"].get<std::int64_t>());
    return out;
  };
  {
    WatcherProcess w(s.pilot, s.dir.path() / "watch.log");
    ASSERT_TRUE(w.started);
    ASSERT_TRUE(eventually([&] { return instants().size() >= 2; }));
    ASSERT_EQ(w.stop().exit_code, 0);
  }
  const auto before = instants();
  ASSERT_EQ(before.size(), submissions(s.pilot).size());  // one submission per instant
  std::this_thread::sleep_for(3500ms);  // instants missed while down
  const auto first = beamflow({"trigger", "watch", "--pilot", s.pilot.string(), "--once", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto after = instants();
  // Exactly one catch-up firing: the latest missed instant, the others coalesced.
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_GE(*after.rbegin(), *before.rbegin() + 3000);
  EXPECT_EQ(*after.rbegin() % 1000, 0);
  // Restarted again within the same second: nothing fires twice.
  const auto second = beamflow({"trigger", "watch", "--pilot", s.pilot.string(), "--once", "--json"});
  ASSERT_EQ(second.exit_code, 0);
  const auto last = instants();
  EXPECT_LE(last.size(), after.size() + 1);  // at most the next instant, if a second boundary passed
  EXPECT_EQ(last.size(), submissions(s.pilot).size());
}

TEST(TriggerAdd, BadInputsAreClearErrorsAndRegisterNothing) {
  Scene s;
  auto expect_refused = [&](const ProcessResult& r, const std::string& id, int code) {
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_EQ(json_of(r.out)["error"], id) << r.out;
    EXPECT_FALSE(fsys::exists(s.pilot / "triggers" / "flow.json"));
  };
  expect_refused(s.add({"--watch", (s.dir.path() / "missing").string()}), "trigger.registration.invalid", 2);
  expect_refused(s.add({"--watch", s.drop.string(), "--pattern", "scan_[0-9.h5"}), "trigger.registration.invalid", 2);
  expect_refused(s.add({"--every", "ten minutes"}), "trigger.registration.invalid", 2);
  expect_refused(s.add({"--at", "25:00"}), "trigger.registration.invalid", 2);
  expect_refused(s.add({}), "trigger.registration.invalid", 2);  // neither a watch nor a timer
  s.templ = s.dir.write("bad.json", "{\"file\": \"{{path}}\",");
  expect_refused(s.add({"--watch", s.drop.string()}), "cli.bad_json", 2);
  s.templ = s.dir.write("template.json", R"({"file": "{{path}}"})");
  // A pilot directory others may write to: refused, nothing written there.
  fsys::create_directories(s.pilot);
  ::chmod(s.pilot.c_str(), 0777);
  expect_refused(s.add({"--watch", s.drop.string()}), "pilot.dir.unsafe", 1);
  ::chmod(s.pilot.c_str(), 0700);
  const auto removed = beamflow({"trigger", "remove", "nope", "--pilot", s.pilot.string(), "--json"});
  EXPECT_EQ(removed.exit_code, 1);
  EXPECT_EQ(json_of(removed.out)["error"], "trigger.registration.not_found");
  const auto listed = beamflow({"trigger", "list", "--pilot", s.pilot.string(), "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(json_of(listed.out)["registrations"].empty());
}

// A mistyped --pilot would watch nothing, quietly: the watcher says it made
// the directory and that nothing is registered there.
TEST(TriggerWatch, AMissingPilotDirectoryIsMadeAndSaidSo) {
  Scene s;
  ASSERT_FALSE(fsys::exists(s.pilot));
  const auto made = beamflow({"trigger", "watch", "--pilot", s.pilot.string(), "--once"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.err.find("pilot directory " + s.pilot.string() + " did not exist"), std::string::npos) << made.err;
  EXPECT_NE(made.err.find("watching 0 registrations"), std::string::npos) << made.err;
  EXPECT_NE(made.err.find("beamflow trigger add"), std::string::npos) << made.err;
  EXPECT_TRUE(fsys::is_directory(s.pilot));
  // Found the second time, and with a registration no hint.
  ASSERT_EQ(s.add({"--watch", s.drop.string()}).exit_code, 0);
  const auto again = beamflow({"trigger", "watch", "--pilot", s.pilot.string(), "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("did not exist"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("beamflow trigger add"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("watching 1 registrations"), std::string::npos) << again.err;
}

TEST(TriggerAdd, SameIdSameContentIsOneRegistrationOtherContentAConflict) {
  Scene s;
  const auto first = s.add({"--watch", s.drop.string(), "--pattern", "*.h5", "--id", "beamline"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(json_of(first.out)["existed"], false);
  const auto again = s.add({"--watch", s.drop.string(), "--pattern", "*.h5", "--id", "beamline"});
  EXPECT_EQ(json_of(again.out)["existed"], true);
  const auto other = s.add({"--watch", s.drop.string(), "--pattern", "*.hdf", "--id", "beamline"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(json_of(other.out)["error"], "trigger.registration.conflict");
  const auto listed = json_of(beamflow({"trigger", "list", "--pilot", s.pilot.string(), "--json"}).out);
  ASSERT_EQ(listed["registrations"].size(), 1u);
  EXPECT_EQ(listed["registrations"][0]["pattern"], "*.h5");
  ASSERT_EQ(beamflow({"trigger", "remove", "beamline", "--pilot", s.pilot.string()}).exit_code, 0);
  EXPECT_TRUE(json_of(beamflow({"trigger", "list", "--pilot", s.pilot.string(), "--json"}).out)["registrations"].empty());
}

}  // namespace
}  // namespace beamflow::test

namespace beamflow::test {
namespace {

// The watch limit, lowered in a user namespace of the test's own (its
// user.max_inotify_watches bounds only the processes inside): a recursive
// registration over more directories than that fails clearly.
TEST(TriggerWatch, TheWatchLimitIsAClearErrorNamingTheSysctl) {
  Scene s;
  for (int i = 0; i < 8; ++i) fsys::create_directories(s.drop / ("d" + std::to_string(i)));
  ASSERT_EQ(s.add({"--watch", s.drop.string(), "--recursive", "--id", "many"}).exit_code, 0);
  const auto probe = run_process({"unshare", "-Ur", "sh", "-c", "echo 4 > /proc/sys/user/max_inotify_watches"});
  if (probe.exit_code != 0) GTEST_SKIP() << "no user namespace to lower the watch limit in: " << probe.err;
  const auto r = run_process({"unshare", "-Ur", "sh", "-c",
                              "echo 4 > /proc/sys/user/max_inotify_watches && exec \"$0\" trigger watch --pilot \"$1\" "
                              "--once --json",
                              beamflow_binary(), s.pilot.string()},
                             {.timeout = std::chrono::seconds(60)});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const Json e = json_of(r.out);
  EXPECT_EQ(e["error"], "trigger.watch.limit");
  EXPECT_NE(e["message"].get<std::string>().find("sysctl -w fs.inotify.max_user_watches="), std::string::npos)
      << e.dump();
  EXPECT_TRUE(submissions(s.pilot).empty());
}

}  // namespace
}  // namespace beamflow::test
