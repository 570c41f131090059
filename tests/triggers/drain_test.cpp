// The watcher's own event queue (triggers/event_drain.hpp) full, in
// process: a queue of 8 events and bursts of files that the watcher's loop
// does not take meanwhile, so the queue overflows whatever the timing; the
// rescan that follows hands each file over exactly once, and a second
// overflow hands over only the new files (the old ones are in the ledger);
// a registration added while the queue is full is not missed either.
#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "../support/scratch_dir.hpp"
#include "fixture.hpp"
#include "platform/events.hpp"
#include "triggers/registration.hpp"
#include "triggers/watcher.hpp"

namespace beamflow::test {
namespace {
namespace fsys = std::filesystem;

void write_files(const fsys::path& dir, int from, int to) {
  for (int i = from; i < to; ++i) {
    const std::string p = (dir / ("f_" + std::to_string(i) + ".dat")).string();
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << p;
    const std::string body = "file " + std::to_string(i) + "\n";
    ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    ASSERT_EQ(::close(fd), 0);
  }
}

// Runs the watcher's loop until `done` holds after its hand-offs are over
// (a minute at most); whether it held.
bool drive(triggers::Watcher& w, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  fs::Poller poller;
  poller.add(w.fd(), 1);
  for (;;) {
    w.on_ready();
    w.wait_idle();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > give_up) return false;
    poller.wait(200);
  }
}

TEST(TriggerDrain, AFullEventQueueIsAnOverflowWhoseRescanHandsEachFileOverOnce) {
  ScratchDir dir{"beamflow-drain-"};
  const fsys::path pilot = dir.path() / "pilot", drop = dir.path() / "drop";
  fsys::create_directories(drop);
  triggers::Registration r;
  r.id = "burst";
  r.watch_dir = drop;
  r.pattern = "*.dat";
  r.quiet_seconds = 0;
  r.endpoint = "beamline";
  r.definition = Json{{"StartAt", "A"}, {"States", {{"A", {{"Type", "Pass"}, {"End", true}}}}}};
  r.input_template = Json{{"file", "{{path}}"}};
  triggers::add(pilot, r);
  triggers::Watcher w(pilot, {}, 2, 8);
  ASSERT_EQ(w.stats().rescans, 1u);  // the start's

  const fsys::path drop2 = dir.path() / "drop2";
  auto each_once = [&](std::size_t n) {
    std::map<std::string, int> files;
    for (const auto& s : submissions(pilot)) ++files[s["input"]["file"].get<std::string>()];
    ASSERT_EQ(files.size(), n);
    for (const auto& [file, times] : files) ASSERT_EQ(times, 1) << file;
    for (const auto& d : {drop, drop2}) {
      std::error_code ec;
      for (const auto& e : fsys::directory_iterator(d, ec)) ASSERT_EQ(files.count(e.path().string()), 1u) << e.path();
    }
  };
  for (const std::uint64_t round : {1u, 2u}) {
    const int from = static_cast<int>(round - 1) * 300;
    write_files(drop, from, from + 300);  // 300 events for a queue of 8, none taken meanwhile
    ASSERT_TRUE(eventually([&] { return w.stats().queue_overflows >= round; })) << w.stats().to_json().dump();
    ASSERT_TRUE(drive(w, [&] { return w.stats().submitted >= round * 300; })) << w.stats().to_json().dump();
    const auto s = w.stats();
    EXPECT_EQ(s.submitted, round * 300) << s.to_json().dump();
    EXPECT_EQ(s.errors, 0u);
    EXPECT_GE(s.overflows, round);
    EXPECT_GE(s.rescans, round + 1);  // the start's and one per overflow
    each_once(round * 300);
  }
  // The second rescan saw the first 300 again: in the ledger, not handed over twice.
  EXPECT_GE(w.stats().already, 300u);

  // An overflow loses the registrations' events too: one added while the
  // queue is full (its event dropped) is read again after the overflow, and
  // its directory's files are handed over.
  write_files(drop, 600, 900);
  ASSERT_TRUE(eventually([&] { return w.stats().queue_overflows >= 3; })) << w.stats().to_json().dump();
  fsys::create_directories(drop2);
  write_files(drop2, 0, 50);
  auto second = r;
  second.id = "second";
  second.watch_dir = drop2;
  triggers::add(pilot, second);
  ASSERT_TRUE(drive(w, [&] { return w.stats().submitted >= 950; })) << w.stats().to_json().dump();
  EXPECT_EQ(w.registrations(), 2u);
  EXPECT_EQ(w.stats().submitted, 950u);
  each_once(950);
}

}  // namespace
}  // namespace beamflow::test
