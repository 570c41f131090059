// A transfer killed with SIGKILL half-way resumes from its manifest: the
// chunks it had verified are checked, not copied again, and a byte flipped
// in one of them is found and that chunk alone copied again. Effects are
// counted in the files: the journal's chunk records and the summary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "fixture.hpp"
#include "jobs/transfer/manifest.hpp"

namespace beamflow::transfer::testing {
namespace {

constexpr std::size_t kSize = 24 << 20, kChunk = 16 << 10, kChunks = kSize / kChunk;

class KillTest : public TransferTest {
 protected:
  Json req() const { return request(Json::array({item("big", "out/big")}), {{"chunk_size", kChunk}}); }

  // Chunk records in the journal: index -> how many times recorded.
  std::map<std::uint64_t, int> recorded() const {
    std::map<std::uint64_t, int> out;
    for (const Json& r : parse_journal(slurp(state / "journal-r0.log")))
      if (r["t"] == "c") ++out[r["i"].get<std::uint64_t>()];
    return out;
  }

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

}  // namespace
}  // namespace beamflow::transfer::testing
