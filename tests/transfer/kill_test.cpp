// A transfer killed with SIGKILL half-way resumes from its manifest: the
// chunks it had verified are checked, not copied again, and a byte flipped
// in one of them is found and that chunk alone copied again; small files
// killed at each batch sync and rename are never renamed or copied again once
// under their final name. Effects are counted in the files: the journal's
// chunk records, the destination's names and the summary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fixture.hpp"
#include "jobs/transfer/manifest.hpp"

namespace beamflow::transfer::testing {
namespace {

constexpr std::size_t kSize = 24 << 20, kChunk = 16 << 10, kChunks = kSize / kChunk;

// Chunk records in rank 0's journal under `state`: index -> how many times
// recorded.
std::map<std::uint64_t, int> chunk_records(const stdfs::path& state) {
  std::map<std::uint64_t, int> out;
  for (const Json& r : parse_journal(slurp(state / "journal-r0.log")))
    if (r["t"] == "c") ++out[r["i"].get<std::uint64_t>()];
  return out;
}

class KillTest : public TransferTest {
 protected:
  Json req() const { return request(Json::array({item("big", "out/big")}), {{"chunk_size", kChunk}}); }

  std::map<std::uint64_t, int> recorded() const { return chunk_records(state); }

  // Starts the transfer in a child and SIGKILLs it once `at_least` chunks are
  // recorded; returns the records at the kill.
  std::map<std::uint64_t, int> run_and_kill(std::size_t at_least) {
    put(src / "big", bytes(kSize, 3));
    test::Process child = test::Process::fork([&] {
      try {
        run(req());
      } catch (...) {
        return 3;
      }
      return 0;
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (recorded().size() < at_least && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    child.kill(SIGKILL);
    EXPECT_TRUE(child.wait().signal != 0) << "the transfer finished before it could be killed";
    return recorded();
  }

  stdfs::path temp_file() const {
    for (const auto& p : tree(dst / "out"))
      if (p.find(".bf-") != std::string::npos) return dst / "out" / p;
    return {};
  }
};

TEST_F(KillTest, ResumesWithoutCopyingVerifiedChunksAgain) {
  const auto at_kill = run_and_kill(kChunks / 3);
  ASSERT_GE(at_kill.size(), kChunks / 3);
  ASSERT_LT(at_kill.size(), kChunks);
  EXPECT_FALSE(stdfs::exists(dst / "out/big")) << "nothing under the final name before it is verified";
  ASSERT_FALSE(temp_file().empty());

  const Json out = run(req());
  EXPECT_TRUE(out["retry"].get<bool>());
  EXPECT_EQ(out["chunks_resumed"], at_kill.size());
  EXPECT_EQ(out["chunks_copied"], kChunks - at_kill.size());
  EXPECT_EQ(out["chunks_repaired"], 0);
  EXPECT_EQ(slurp(dst / "out/big"), slurp(src / "big"));
  EXPECT_TRUE(temp_file().empty());
  // Every chunk was recorded exactly once over both runs: none copied twice.
  const auto after = recorded();
  EXPECT_EQ(after.size(), kChunks);
  for (const auto& [index, times] : after) EXPECT_EQ(times, 1) << "chunk " << index;
}

TEST_F(KillTest, AFlippedByteInAVerifiedChunkIsFoundAndThatChunkCopiedAgain) {
  const auto at_kill = run_and_kill(kChunks / 4);
  ASSERT_GE(at_kill.size(), 8u);
  const std::uint64_t victim = 5;
  ASSERT_TRUE(at_kill.count(victim));
  {
    std::fstream f(temp_file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(victim * kChunk + 77);
    const char c = static_cast<char>(f.get());
    f.seekp(victim * kChunk + 77);
    f.put(static_cast<char>(c ^ 0x10));
  }
  const Json out = run(req());
  EXPECT_EQ(out["chunks_repaired"], 1);
  EXPECT_EQ(out["chunks_resumed"], at_kill.size() - 1);
  EXPECT_EQ(out["chunks_copied"], kChunks - at_kill.size() + 1);
  EXPECT_EQ(slurp(dst / "out/big"), slurp(src / "big"));
  EXPECT_EQ(recorded()[victim], 2) << "the repaired chunk is recorded again";
}

// One-chunk files are made durable in batches (one syncfs) and only then
// renamed; a multi-chunk file follows them. The copier's hook
// (CopyOptions::at) reports each batch sync and each rename, to check their
// order and to kill the transfer at each of them.
class SmallBatchTest : public TransferTest {
 protected:
  static constexpr std::size_t kSmall = 100, kBig = (std::size_t{2} << 20) + 5, kChunk = 16 << 10;
  static constexpr std::uint64_t kBigChunks = (kBig + kChunk - 1) / kChunk;

  void SetUp() override {
    TransferTest::SetUp();
    for (std::size_t i = 0; i < kSmall; ++i) put(src / "small" / ("f" + std::to_string(i)), bytes(900 + i, 100 + i));
    put(src / "big", bytes(kBig, 5));
  }
  Json req() const {
    return request(Json::array({item("small", "small", true), item("big", "big")}), {{"chunk_size", kChunk}});
  }
  Json run_with(const std::function<void(std::string_view, const std::string&)>& at) const {
    TransferOptions options;
    options.state_dir = state;
    options.at = at;
    return run_transfer(parse_request(req()), endpoints, parallel::Comm::serial(), options).document;
  }
  // Destination names of the small files now under a temporary name.
  std::set<std::string> small_temporaries() const {
    std::set<std::string> out;
    for (const auto& p : tree(dst / "small"))
      if (const auto at = p.find(".bf-"); at != std::string::npos) out.insert("small/" + p.substr(1, at - 1));
    return out;
  }
  // Files under their final name (folders left out).
  std::set<std::string> finals() const {
    std::set<std::string> out;
    for (const auto& p : tree(dst))
      if (p.find(".bf-") == std::string::npos && stdfs::is_regular_file(dst / p)) out.insert(p);
    return out;
  }
  void expect_finals_whole() const {
    for (const auto& p : finals()) EXPECT_EQ(slurp(dst / p), slurp(src / p)) << p;
  }
};

TEST_F(SmallBatchTest, EachSmallFileIsRenamedOnlyAfterASyncThatFoundItWritten) {
  std::mutex m;
  int syncs = 0;
  std::set<std::string> synced;  // small files under a temporary name when a batch sync ended
  std::vector<std::string> renamed_unsynced;
  run_with([&](std::string_view point, const std::string& path) {
    std::lock_guard lock(m);
    if (point == "batch synced") {
      ++syncs;
      for (const auto& t : small_temporaries()) synced.insert(t);
    } else if (path != "big" && !synced.count(path)) {
      renamed_unsynced.push_back(path);
    }
  });
  EXPECT_EQ(syncs, 2);  // 100 files: a batch of 64, then 36
  EXPECT_EQ(synced.size(), kSmall);
  EXPECT_TRUE(renamed_unsynced.empty()) << renamed_unsynced.front();
  EXPECT_EQ(finals().size(), kSmall + 1);
  expect_finals_whole();
}

// Killed at each batch sync and at renames, then resumed: nothing partial
// under a final name, and no file completed before the kill (under its final
// name) renamed or counted as copied again, no chunk recorded twice.
TEST_F(SmallBatchTest, KilledAtEachSyncAndRenameThenResumedNothingCompletedIsCopiedTwice) {
  const std::vector<std::pair<std::string, int>> points{
      {"batch synced", 1}, {"batch synced", 2}, {"renamed", 65}, {"renamed", kSmall}, {"renamed", kSmall + 1}};
  for (const auto& [point, nth] : points) {
    SCOPED_TRACE(point + " #" + std::to_string(nth));
    stdfs::remove_all(dst);
    stdfs::remove_all(state);
    stdfs::create_directories(dst);
    test::Process child = test::Process::fork([&, point = point, nth = nth] {
      std::atomic<int> seen{0};  // the hook is called from both copy lanes
      run_with([&](std::string_view p, const std::string&) {
        if (p == point && ++seen == nth) ::kill(::getpid(), SIGKILL);
      });
      return 0;
    });
    ASSERT_EQ(child.wait().signal, SIGKILL);
    expect_finals_whole();
    const std::set<std::string> done = finals();
    if (point == "batch synced") {  // the big file, in its own lane, may be done or not
      EXPECT_EQ(std::count_if(done.begin(), done.end(), [](const std::string& p) { return p.rfind("small/", 0) == 0; }),
                nth == 1 ? 0 : 64);
    }
    std::vector<std::string> again;
    const Json out = run_with([&](std::string_view p, const std::string& path) {
      if (p == "renamed" && done.count(path)) again.push_back(path);
    });
    EXPECT_TRUE(again.empty()) << again.front();
    EXPECT_EQ(out["files_unchanged"], done.size());
    EXPECT_EQ(out["files_copied"], kSmall + 1 - done.size());
    const std::map<std::uint64_t, int> chunks = chunk_records(state);
    EXPECT_EQ(chunks.size(), kBigChunks);
    for (const auto& [index, times] : chunks) EXPECT_EQ(times, 1) << "chunk " << index;
    EXPECT_EQ(finals().size(), kSmall + 1);
    expect_finals_whole();
    for (const auto& p : tree(dst)) EXPECT_EQ(p.find(".bf-"), std::string::npos) << p;
  }
}

// A file of several chunks is copied in a lane of its own: the small files
// planned after it are copied, synced and renamed while it is still being
// copied, not after it. The big file's rename waits (at most 20 s) for a
// small file's rename; copied one after the other, it would wait in vain.
TEST_F(SmallBatchTest, SmallFilesPlannedAfterABigOneAreRenamedWhileItIsCopied) {
  std::mutex m;
  std::condition_variable renamed;
  std::size_t small_renamed = 0, small_renamed_before_big = 0;
  TransferOptions options;
  options.state_dir = state;
  options.at = [&](std::string_view point, const std::string& path) {
    if (point != "renamed") return;
    std::unique_lock lock(m);
    if (path == "big") {
      renamed.wait_for(lock, std::chrono::seconds(20), [&] { return small_renamed > 0; });
      small_renamed_before_big = small_renamed;
    } else {
      ++small_renamed;
      renamed.notify_all();
    }
  };
  const Json out = run_transfer(parse_request(request(Json::array({item("big", "big"), item("small", "small", true)}),
                                                      {{"chunk_size", kChunk}})),
                                endpoints, parallel::Comm::serial(), options)
                       .document;
  EXPECT_GT(small_renamed_before_big, 0u);
  EXPECT_EQ(small_renamed, kSmall);
  EXPECT_EQ(out["files_copied"], kSmall + 1);
  EXPECT_EQ(out["chunks_copied"], kBigChunks + kSmall);
  EXPECT_EQ(finals().size(), kSmall + 1);
  expect_finals_whole();
}

}  // namespace
}  // namespace beamflow::transfer::testing
