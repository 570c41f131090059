// Files arriving at a pilot that runs the trigger itself (`beamflow pilot`
// hosting the watcher), while the pilot, watcher and all, is killed with
// SIGKILL twice in the middle of the burst: every file is handed over once
// (one owned batch entry, whatever the rescans and restarts repeat) and run
// once (one SUCCEEDED run per file, none twice, none missing).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <map>

#include "../support/scratch_dir.hpp"
#include "fixture.hpp"
#include "run/run_store.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;
using namespace std::chrono_literals;

// `writers` forked processes writing DIR/NAME_i.dat, i in [0, n): started,
// not waited for.
std::vector<Process> start_writers(const fsys::path& dir, const std::string& name, int n, int writers) {
  std::vector<Process> out;
  for (int w = 0; w < writers; ++w) {
    out.push_back(Process::fork([=] {
      for (int i = w; i < n; i += writers) {
        const std::string p = (dir / (name + "_" + std::to_string(i) + ".dat")).string();
        const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return 1;
        const std::string body = name + " " + std::to_string(i) + "\n";
        if (::write(fd, body.data(), body.size()) < 0) return 2;
        ::close(fd);
        ::usleep(1000);  // a burst that lasts long enough (about 0.5 s) to be killed in
      }
      return 0;
    }));
  }
  return out;
}

std::size_t entries(const fsys::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (fsys::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}
std::size_t runs_in(const fsys::path& runs) { return entries(runs); }
std::size_t files_in(const fsys::path& drop) { return entries(drop); }

TEST(TriggerPilot, KilledMidBurstTwiceEveryFileIsRunExactlyOnce) {
  std::error_code ec;
  const fsys::path root = fsys::is_directory("/dev/shm", ec) ? fsys::path("/dev/shm") : fsys::temp_directory_path();
  ScratchDir space((root / "beamflow-trigger-pilot-").string());
  const fsys::path pilot = space.path() / "pilot", drop = space.path() / "drop", runs = pilot / "runs";
  fsys::create_directories(drop);
  const auto flow = space.write("flow.json", R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})");
  const auto templ = space.write("template.json", R"({"file": "{{path}}"})");
  const auto added = beamflow({"trigger", "add", "--watch", drop.string(), "--pattern", "*.dat", "--quiet-seconds", "0",
                               "--flow", flow.string(), "--input-template", templ.string(), "--pilot", pilot.string(),
                               "--id", "burst"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  int started = 0;
  auto start_pilot = [&] {
    const fsys::path log = space.path() / ("pilot-" + std::to_string(++started) + ".log");
    ProcessOptions o;
    o.stderr_file = log;
    Process p = Process::start({beamflow_binary(), "pilot", "--dir", pilot.string(), "--slots", "2"}, o);
    EXPECT_TRUE(eventually([&] {
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return text.find("triggers: 1 registrations") != std::string::npos;
    })) << "pilot " << started << " did not start its watcher";
    return p;
  };
  auto handed_over = [&] { return pilot::list_submissions(pilot).size(); };

  // 1. A burst of 2,000 files; the pilot is killed once some are handed
  // over and some run, while the writers go on.
  constexpr std::size_t kFirst = 2000, kSecond = 1200;
  {
    Process p = start_pilot();
    auto writers = start_writers(drop, "one", static_cast<int>(kFirst), 4);
    ASSERT_TRUE(eventually([&] { return handed_over() >= 300 && runs_in(runs) >= 50; }, 120s)) << handed_over();
    p.kill(SIGKILL);
    GTEST_LOG_(INFO) << "first kill: " << files_in(drop) << " of " << kFirst << " files written";
    p.wait();
    for (auto& w : writers) ASSERT_EQ(w.wait().exit_code, 0);
  }
  // 2. The next pilot's start rescan hands over what landed meanwhile, a
  // second burst lands while it runs, and it is killed again mid-burst.
  {
    Process p = start_pilot();
    auto writers = start_writers(drop, "two", static_cast<int>(kSecond), 4);
    const std::size_t before = runs_in(runs);
    ASSERT_TRUE(eventually([&] { return runs_in(runs) >= before + 100; }, 120s)) << runs_in(runs);
    p.kill(SIGKILL);
    GTEST_LOG_(INFO) << "second kill: " << files_in(drop) - kFirst << " of " << kSecond << " files written";
    p.wait();
    for (auto& w : writers) ASSERT_EQ(w.wait().exit_code, 0);
  }
  // 3. A last pilot runs everything to the end.
  const std::size_t kFiles = kFirst + kSecond;
  Process p = start_pilot();
  auto succeeded = [&] {
    std::size_t n = 0;
    for (const auto& r : run::list_runs(runs)) n += r.status == "SUCCEEDED";
    return n;
  };
  ASSERT_TRUE(eventually([&] { return succeeded() >= kFiles; }, 300s)) << succeeded() << " of " << kFiles;
  std::this_thread::sleep_for(1s);  // nothing more comes
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait().exit_code, 0);

  // Each file: one submission, one run, SUCCEEDED; no other run.
  const auto subs = pilot::list_submissions(pilot);
  std::map<std::string, int> per_file;
  for (const auto& s : subs) ++per_file[s.input["file"].get<std::string>()];
  EXPECT_EQ(subs.size(), kFiles);
  EXPECT_EQ(per_file.size(), kFiles);
  for (const auto& [file, n] : per_file) ASSERT_EQ(n, 1) << file;
  const auto all = run::list_runs(runs);
  EXPECT_EQ(all.size(), kFiles);
  std::map<std::string, int> runs_per_file;
  for (const auto& r : all) {
    EXPECT_EQ(r.status, "SUCCEEDED") << r.run_id;
    ++runs_per_file[run::stored_input(runs / r.run_id)["file"].get<std::string>()];
  }
  EXPECT_EQ(runs_per_file.size(), kFiles);
  for (const auto& [file, n] : runs_per_file) ASSERT_EQ(n, 1) << file;
  for (const auto& e : fsys::directory_iterator(drop)) EXPECT_EQ(runs_per_file.count(e.path().string()), 1u) << e.path();
  // Every batch complete: moved to accepted/, none left waiting.
  for (const auto& e : fsys::directory_iterator(pilot / "inbox")) ADD_FAILURE() << "left in inbox/: " << e.path();
}

}  // namespace
}  // namespace beamflow::test

namespace beamflow::test {
namespace {

// A pilot whose trigger cannot watch (its directory is gone) stops at start
// with the error, rather than run without the trigger; so does `trigger
// watch`.
TEST(TriggerPilot, AWatchedDirectoryMissingAtStartStopsThePilotWithAClearError) {
  ScratchDir dir("beamflow-trigger-missing-");
  const auto drop = dir.path() / "drop";
  std::filesystem::create_directories(drop);
  const auto flow = dir.write("flow.json", R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})");
  const auto templ = dir.write("template.json", R"({"file": "{{path}}"})");
  const auto pilot = dir.path() / "pilot";
  const auto added = beamflow({"trigger", "add", "--watch", drop.string(), "--flow", flow.string(), "--input-template",
                               templ.string(), "--pilot", pilot.string(), "--id", "gone"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  std::filesystem::remove(drop);
  const auto p = beamflow({"pilot", "--dir", pilot.string(), "--slots", "1"});
  EXPECT_NE(p.exit_code, 0) << p.err;
  EXPECT_NE(p.err.find("trigger.watch.missing"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("gone"), std::string::npos) << p.err;
  const auto w = beamflow({"trigger", "watch", "--pilot", pilot.string(), "--once"});
  EXPECT_NE(w.exit_code, 0) << w.err;
  EXPECT_NE(w.err.find("trigger.watch.missing"), std::string::npos) << w.err;
  // Back: the watcher starts again.
  std::filesystem::create_directories(drop);
  const auto ok = beamflow({"trigger", "watch", "--pilot", pilot.string(), "--once"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace beamflow::test
