#include "jobs/tomography/rows.hpp"

#include <gtest/gtest.h>

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;

TEST(Decomposition, BlocksCoverRowsInOrderForOneToFiveRanks) {
  for (std::int64_t n : {0, 1, 2, 3, 7, 64, 1001}) {
    for (int parts = 1; parts <= 5; ++parts) {
      std::int64_t next = 0, smallest = n, largest = 0;
      for (int i = 0; i < parts; ++i) {
        const parallel::RowRange b = parallel::block_of(n, parts, i);
        EXPECT_EQ(b.begin, next) << "n=" << n << " parts=" << parts << " i=" << i;
        next = b.end;
        smallest = std::min(smallest, b.size());
        largest = std::max(largest, b.size());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1) << "unbalanced: n=" << n << " parts=" << parts;
    }
  }
}

TEST(Decomposition, MoreRanksThanRowsLeavesTheLastRanksEmpty) {
  EXPECT_EQ(parallel::block_of(3, 5, 0), (parallel::RowRange{0, 1}));
  EXPECT_EQ(parallel::block_of(3, 5, 2), (parallel::RowRange{2, 3}));
  EXPECT_TRUE(parallel::block_of(3, 5, 3).empty());
  EXPECT_TRUE(parallel::block_of(3, 5, 4).empty());
}

TEST(Decomposition, ChunksAreBoundedAndContiguous) {
  const auto chunks = parallel::chunks_of({10, 27}, 5);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks.front(), (parallel::RowRange{10, 15}));
  EXPECT_EQ(chunks.back(), (parallel::RowRange{25, 27}));
  EXPECT_TRUE(parallel::chunks_of({4, 4}, 5).empty());
}

TEST(Decomposition, PendingChunksSkipDoneSlicesAndBalanceTheRest) {
  // Slices 0-3 and 7 done: 5 pending (4, 5, 6, 8, 9) over 2 ranks.
  const std::vector<std::uint8_t> done{1, 1, 1, 1, 0, 0, 0, 1, 0, 0};
  const auto r0 = parallel::pending_chunks(done, 2, 0, 8);
  const auto r1 = parallel::pending_chunks(done, 2, 1, 8);
  ASSERT_EQ(r0.size(), 1u);
  EXPECT_EQ(r0[0], (parallel::RowRange{4, 7}));
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0], (parallel::RowRange{8, 10}));
  // Chunk size still bounds a run, and a gap always cuts it.
  const auto one = parallel::pending_chunks(done, 1, 0, 2);
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(one[0], (parallel::RowRange{4, 6}));
  EXPECT_EQ(one[1], (parallel::RowRange{6, 7}));
  EXPECT_EQ(one[2], (parallel::RowRange{8, 10}));
  EXPECT_TRUE(parallel::pending_chunks(std::vector<std::uint8_t>(4, 1), 3, 1, 2).empty());
}

TEST(Decomposition, PendingChunksKeepRowGroupsWhole) {
  // Pairs (gridrec): 11 slices are groups {0,1} {2,3} ... {10}. Slice 5 alone
  // pending still brings its partner 4; 9 brings 8, and the odd last slice
  // is a group of its own.
  const std::vector<std::uint8_t> done{1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0};
  const auto all = parallel::pending_chunks(done, 1, 0, 100, 2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (parallel::RowRange{4, 6}));
  EXPECT_EQ(all[1], (parallel::RowRange{8, 11}));
  // Every chunk starts on a group boundary whatever the ranks and chunk
  // size (an odd chunk size rounds down to whole pairs, never below one).
  const std::vector<std::uint8_t> none(11, 0);
  for (int parts = 1; parts <= 5; ++parts) {
    for (std::int64_t chunk : {1, 2, 3, 5}) {
      std::int64_t covered = 0;
      for (int rank = 0; rank < parts; ++rank) {
        for (const parallel::RowRange& r : parallel::pending_chunks(none, parts, rank, chunk, 2)) {
          EXPECT_EQ(r.begin % 2, 0) << parts << " ranks, chunk " << chunk;
          EXPECT_LE(r.size(), std::max<std::int64_t>(2, chunk - chunk % 2));
          covered += r.size();
        }
      }
      EXPECT_EQ(covered, 11);
    }
  }
}

using Ranges = std::vector<parallel::RowRange>;

TEST(Decomposition, TaperCutsTheFirstChunksHeadAndTheLastChunkInHalves) {
  // 512 slices on 2 ranks in 4 chunks of 64 (pairs): rank 1.
  const Ranges rank1 = parallel::pending_chunks(std::vector<std::uint8_t>(512, 0), 2, 1, 64, 2);
  ASSERT_EQ(rank1.size(), 4u);
  EXPECT_EQ(parallel::taper(rank1, 2), (Ranges{{256, 272}, {272, 320}, {320, 384}, {384, 448},
                                               {448, 480}, {480, 496}, {496, 504}, {504, 512}}));
  // One chunk: head first, then the rest halved.
  EXPECT_EQ(parallel::taper({{0, 48}}, 1), (Ranges{{0, 12}, {12, 30}, {30, 39}, {39, 44}, {44, 48}}));
  // Small chunks go down to one group.
  EXPECT_EQ(parallel::taper({{0, 6}, {6, 12}}, 2), (Ranges{{0, 2}, {2, 6}, {6, 8}, {8, 10}, {10, 12}}));
  // Too small to cut: one group, or two rows of a pair.
  EXPECT_EQ(parallel::taper({{10, 11}}, 2), (Ranges{{10, 11}}));
  EXPECT_EQ(parallel::taper({{4, 6}}, 2), (Ranges{{4, 6}}));
  EXPECT_TRUE(parallel::taper({}, 2).empty());
}

// The default rows a pipelined round: a rank's share in kPipelineRounds (16)
// chunks, within the budget; at the bench's sizes on 2 ranks, 512 x 360's
// 512 slices in rounds of 16, 1024 x 900's 128 in 4, 2048 x 1500's 32 in 1
// (2: gridrec's whole pairs).
TEST(Decomposition, APipelinedRankCutsItsShareInSixteenChunks) {
  EXPECT_EQ(kPipelineRounds, 16);
  EXPECT_EQ(pipelined_chunk_rows(1000, 256), 16);
  EXPECT_EQ(pipelined_chunk_rows(1000, 64), 4);
  EXPECT_EQ(pipelined_chunk_rows(1000, 16), 1);
  EXPECT_EQ(pipelined_chunk_rows(1000, 17), 2);  // rounded up: 9 chunks
  EXPECT_EQ(pipelined_chunk_rows(6, 256), 6);    // the budget's rows win
  EXPECT_EQ(pipelined_chunk_rows(1000, 0), 1);   // nothing left: never 0
  // Rank 1's 256 of 512 slices, tapered: 20 rounds, none over 16 rows.
  const Ranges rank1 = parallel::pending_chunks(std::vector<std::uint8_t>(512, 0), 2, 1,
                                                pipelined_chunk_rows(1000, 256), 2);
  EXPECT_EQ(parallel::taper(rank1, 2),
            (Ranges{{256, 260}, {260, 272}, {272, 288}, {288, 304}, {304, 320}, {320, 336}, {336, 352},
                    {352, 368}, {368, 384}, {384, 400}, {400, 416}, {416, 432}, {432, 448}, {448, 464},
                    {464, 480}, {480, 496}, {496, 504}, {504, 508}, {508, 510}, {510, 512}}));
}

TEST(Decomposition, TaperedPiecesAreWholeGroupsCoveringTheSameRows) {
  for (std::int64_t group : {1, 2, 3}) {
    for (std::int64_t slices : {1, 2, 5, 11, 64, 129, 512}) {
      for (int parts = 1; parts <= 4; ++parts) {
        for (std::int64_t chunk : {1, 4, 7, 64}) {
          for (int rank = 0; rank < parts; ++rank) {
            const Ranges chunks =
                parallel::pending_chunks(std::vector<std::uint8_t>(std::size_t(slices), 0), parts, rank, chunk, group);
            const Ranges pieces = parallel::taper(chunks, group);
            ASSERT_GE(pieces.size(), chunks.size());
            std::int64_t next = chunks.empty() ? 0 : chunks.front().begin;
            for (const parallel::RowRange& r : pieces) {
              EXPECT_EQ(r.begin, next) << group << " " << slices << " " << parts << " " << chunk;
              EXPECT_FALSE(r.empty());
              EXPECT_EQ(r.begin % group, 0);
              EXPECT_TRUE(r.size() % group == 0 || r.end == slices);
              EXPECT_LE(r.size(), parallel::whole_groups(chunk, group));
              next = r.end;
            }
            if (!chunks.empty()) {
              EXPECT_EQ(next, chunks.back().end);
            }
          }
        }
      }
    }
  }
}

TEST(Decomposition, ChunkRowsFollowTheMemoryBudget) {
  const RowFootprint row{.angles = 1500, .columns = 2048, .fields = 40, .pad = 2};
  const std::int64_t per_row = row.bytes();
  EXPECT_GT(per_row, 1500 * 2048 * 4 * 2);  // at least projections + sinogram
  EXPECT_EQ(chunk_rows_for_budget(row, 10 * per_row + 1), 10);
  EXPECT_EQ(chunk_rows_for_budget(row, 1), 1);  // never zero
}

// Pipelined, a row costs one more row of projections and fields (read
// ahead) and one more slice (being written) per depth.
TEST(Decomposition, ThePipelineBuffersAreInTheFootprint) {
  RowFootprint row{.angles = 1500, .columns = 2048, .fields = 40, .pad = 2};
  const std::int64_t step = row.bytes();
  row.pipeline_depth = 1;
  EXPECT_EQ(row.bytes() - step, (1500 * 2048 + 40 * 2048 + 2048 * 2048) * 4);
  const std::int64_t budget = 4096LL << 20;
  EXPECT_LT(chunk_rows_within_budget(row, 0, 2, budget), chunk_rows_within_budget({1500, 2048, 40, 2, 0}, 0, 2, budget));
}

TEST(Decomposition, RowSpecParsesEveryForm) {
  EXPECT_EQ(RowSpec::parse("3:9").resolve(20, "f", "d"), (parallel::RowRange{3, 9}));
  EXPECT_EQ(RowSpec::parse("3:").resolve(20, "f", "d"), (parallel::RowRange{3, 20}));
  EXPECT_EQ(RowSpec::parse(":4").resolve(20, "f", "d"), (parallel::RowRange{0, 4}));
  EXPECT_EQ(RowSpec::parse("7").resolve(20, "f", "d"), (parallel::RowRange{7, 8}));
  EXPECT_EQ(RowSpec::parse(":").resolve(20, "f", "d"), (parallel::RowRange{0, 20}));
}

TEST(Decomposition, RowSpecRejectsBadSyntaxAsUsage) {
  for (const char* bad : {"a:b", "1:x", "-1:3", "", "1.5"})
    expect_error([&] { RowSpec::parse(bad); }, "tomo.usage.rows", {"--rows"});
}

TEST(Decomposition, RowsOutsideTheDetectorNameFileAndDataset) {
  for (const char* bad : {"5:30", "20:", "9:4", "25"})
    expect_error([&] { RowSpec::parse(bad).resolve(20, "in.h5", "/exchange/data"); },
                 "tomo.rows.out_of_range", {"20 detector rows", "file=in.h5", "dataset=/exchange/data"});
}

}  // namespace
}  // namespace beamflow::jobs
