// The pipelined reconstruction (recon_job.cpp: the next chunk read and the
// last one written while the kernel runs) writes the bits the step-by-step
// one (--pipeline-depth 0) writes: on 1, 2 and 4 ranks, with other
// chunkings, and after being killed and resumed; a failing chunk stops every
// rank at its own round, after the rounds before it are on disk.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "jobs/tomography/dx_writer.hpp"

namespace beamflow::jobs::testing {
namespace {

constexpr const char* kRecon = "recon --json -q --input p.h5 --center 40.5";
constexpr const char* kKill = "BEAMFLOW_TEST_KILL_AFTER_CHUNKS=";

class PipelineTest : public CliTest {
 protected:
  void SetUp() override {
    phantom("p.h5", "--size 80 --angles 90 --rows 24 --center-offset 1");
    const Ran r = beamflow(std::string(kRecon) + " --chunk-rows 2 --pipeline-depth 0 --output off.h5");
    ASSERT_EQ(r.code, 0) << r.err;
    const Json s = Json::parse(r.out);
    ASSERT_EQ(s["pipeline_depth"], 0);
    ASSERT_EQ(s["rounds"], 12);
  }
  // Runs a pipelined reconstruction; checks that it was pipelined over
  // more than two rounds (so that reads and writes did overlap a kernel).
  void pipelined(const std::string& args, int ranks, const std::string& output) {
    const Ran r = beamflow(std::string(kRecon) + " " + args + " --output " + output, ranks);
    ASSERT_EQ(r.code, 0) << r.err;
    const Json s = Json::parse(r.out);
    EXPECT_EQ(s["pipeline_depth"], 1);
    EXPECT_GT(s["rounds"].get<int>(), 2) << r.out;
    EXPECT_EQ(s["computed"], 24);
  }
};

TEST_F(PipelineTest, PipelinedIsBitIdenticalToStepByStepOn1And2And4Ranks) {
  // 12 chunks of 2 rows, claimed by 1, 2 and 4 ranks.
  pipelined("--chunk-rows 2", 0, "one.h5");
  EXPECT_EQ(volume(path("one.h5")), volume(path("off.h5")));
  pipelined("--chunk-rows 2", 2, "two.h5");
  EXPECT_EQ(volume(path("two.h5")), volume(path("off.h5")));
  pipelined("--chunk-rows 2", 4, "four.h5");
  EXPECT_EQ(volume(path("four.h5")), volume(path("off.h5")));
}

TEST_F(PipelineTest, PipelinedIsBitIdenticalWithOtherChunkings) {
  pipelined("--chunk-rows 6", 0, "c6.h5");  // 4 rounds
  EXPECT_EQ(volume(path("c6.h5")), volume(path("off.h5")));
  pipelined("--chunk-rows 4", 2, "c4.h5");  // 6 chunks over 2 ranks
  EXPECT_EQ(volume(path("c4.h5")), volume(path("off.h5")));
  // Step by step on 3 ranks, rank 1 slow (it takes fewer chunks): the same
  // bits whoever claims what.
  const Ran r = beamflow(std::string(kRecon) + " --chunk-rows 2 --pipeline-depth 0 --output s3.h5", 3,
                         "BEAMFLOW_TEST_SLOW_RANK=1:100");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(volume(path("s3.h5")), volume(path("off.h5")));
}

// Without --chunk-rows the budget holds all 24 rows at once; a pipelined
// run still cuts them into kPipelineRounds (16) chunks, since one leaves
// nothing to overlap: 2 rows, whole pairs, so 12 rounds (too small for
// parallel::taper to cut).
TEST_F(PipelineTest, TheDefaultChunkingLeavesRoundsToOverlap) {
  Ran r = beamflow(std::string(kRecon) + " --output auto.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  Json s = Json::parse(r.out);
  EXPECT_EQ(s["chunk_rows"], 2);
  EXPECT_EQ(s["rounds"], 12);
  EXPECT_EQ(volume(path("auto.h5")), volume(path("off.h5")));
  r = beamflow(std::string(kRecon) + " --pipeline-depth 0 --output step.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  s = Json::parse(r.out);
  EXPECT_EQ(s["rounds"], 1);
  EXPECT_EQ(volume(path("step.h5")), volume(path("off.h5")));
}

TEST_F(PipelineTest, KilledMidRunAndResumedIsBitIdentical) {
  // Killed once the list's first 3 chunks were committed (the hook lets
  // no rank claim a fourth): exactly 6 slices are done.
  Ran r = beamflow(std::string(kRecon) + " --chunk-rows 2 --output r.h5", 0, std::string(kKill) + "3");
  EXPECT_EQ(r.code, 128 + 9) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("r.h5")));
  std::vector<std::uint8_t> done(24, 0);
  std::fill(done.begin(), done.begin() + 6, 1);
  EXPECT_EQ(done_flags(path("r.h5.partial")), done);
  r = beamflow(std::string(kRecon) + " --chunk-rows 2 --output r.h5", 2);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["computed"], 18);
  EXPECT_EQ(volume(path("r.h5")), volume(path("off.h5")));

  // Killed on 2 ranks once 4 chunks were committed, whichever rank claimed
  // them, with rank 1 slow; resumed on 4.
  r = beamflow(std::string(kRecon) + " --chunk-rows 2 --output k.h5", 2,
               std::string(kKill) + "4 BEAMFLOW_TEST_SLOW_RANK=1:200");
  EXPECT_NE(r.code, 0);
  done.assign(24, 0);
  std::fill(done.begin(), done.begin() + 8, 1);
  EXPECT_EQ(done_flags(path("k.h5.partial")), done);
  r = beamflow(std::string(kRecon) + " --chunk-rows 2 --output k.h5", 4);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["computed"], 16);
  EXPECT_EQ(volume(path("k.h5")), volume(path("off.h5")));
}

// A chunk that cannot be read fails in its turn: the chunks its rank
// claimed before it are written, every rank stops, and no rank hangs.
TEST_F(PipelineTest, AFailingReadStopsEveryRankAtItsRound) {
  const hsize_t angles = 30, rows = 16, columns = 32;
  std::vector<float> data(angles * rows * columns, 500.f);
  data[(5 * rows + 9) * columns + 3] = std::nanf("");  // angle 5, row 9
  {
    DxWriter w(path("nan.h5"));
    w.write("/exchange/data", {angles, rows, columns}, data);
    w.close();
  }
  const std::string recon = "recon -q --input nan.h5 --center 15.5 --chunk-rows 2 --output n.h5";
  Ran r = beamflow(recon);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("[tomo.input.nan]"), std::string::npos) << r.err;
  // Rows 8-9 are chunk 5 of 8: chunks 1-4 are on disk.
  std::vector<std::uint8_t> done(16, 0);
  std::fill(done.begin(), done.begin() + 8, 1);
  EXPECT_EQ(done_flags(path("n.h5.partial")), done);

  // 2 and 4 ranks: whichever rank claims rows 8-9 fails with that error,
  // every rank stops claiming, and every rank exits with it, no rank
  // waiting; rows 8-9 are not done, and every chunk done is whole.
  for (int ranks : {2, 4}) {
    std::filesystem::remove(path("n.h5.partial"));
    r = beamflow(recon, ranks);
    EXPECT_NE(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("[tomo.input.nan]"), std::string::npos) << r.err;
    done = done_flags(path("n.h5.partial"));
    EXPECT_EQ(done[8] + done[9], 0);
    for (std::size_t i = 0; i < done.size(); i += 2) EXPECT_EQ(done[i], done[i + 1]) << i;
  }
}

TEST_F(PipelineTest, DepthIsZeroOrOne) {
  for (const char* depth : {"2", "-1"}) {
    const Ran r = beamflow(std::string(kRecon) + " --pipeline-depth " + depth + " --output x.h5");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("--pipeline-depth must be 0"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("x.h5.partial")));
  }
}

}  // namespace
}  // namespace beamflow::jobs::testing
