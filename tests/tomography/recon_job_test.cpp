// The driver through the library on this test's rank count: a fresh run,
// a rerun that finds everything done, a refused foreign output, and an
// error on one rank stopping every rank (no hang in a collective).
#include "jobs/tomography/recon_job.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>

#include "core/json.hpp"
#include "jobs/tomography/dx_writer.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/recon_trace.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "io/hdf5.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;
using testing::world;

class ReconJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world().agree([&] {
      if (!world().is_root()) return;
      PhantomOptions p = testing::small_phantom(input, 32, 40, 5);
      p.photons = 0;
      make_phantom(p);
    });
    options.input = input;
    options.output = output;
    options.center = CenterSpec::parse("15.5");
    options.chunk_rows = 1;
  }
  testing::ScratchDir dir;
  std::filesystem::path input = dir / "p.h5", output = dir / "r.h5";
  ReconOptions options;
};

TEST_F(ReconJobTest, RunsThenFindsEverythingDone) {
  std::vector<std::string> lines;
  options.log = [&](const std::string& l) { lines.push_back(l); };
  ReconSummary s = reconstruct(options, world());
  EXPECT_EQ(s.slices, 5);
  EXPECT_EQ(s.computed, 5);
  EXPECT_EQ(s.already_done, 0);
  EXPECT_EQ(s.ranks, world().size());
  // gridrec works on pairs of rows: chunks of 1 row become pairs, 3 of
  // them in the list the ranks claim from, whatever the rank count.
  EXPECT_EQ(s.chunk_rows, 2);
  EXPECT_EQ(s.rounds, 3);
  EXPECT_TRUE(s.input_digest.starts_with("xxh128:")) << s.input_digest;  // the default
  EXPECT_EQ(s.input_digest.size(), 7u + 32u);
  EXPECT_EQ(s.centers, std::vector<double>(5, 15.5));
  EXPECT_EQ(lines.empty(), !world().is_root());  // rank 0 logs
  EXPECT_EQ(s.to_json()["output"], output.string());

  s = reconstruct(options, world());
  EXPECT_EQ(s.computed, 0);
  EXPECT_EQ(s.already_done, 5);
  const VolumeHeader h = VolumeFile::read_header(output);
  EXPECT_EQ(h.algorithm, "gridrec");
  EXPECT_EQ(h.input_digest, s.input_digest);
  EXPECT_EQ(h.parameters["preprocess"]["field_reduce"], "mean");
}

// BEAMFLOW_RECON_TRACE: every rank writes its timeline; each chunk is read,
// preprocessed, reconstructed (on the compute thread, pipelined) and
// written once, inside the reconstruction's own span.
TEST_F(ReconJobTest, EachRankWritesATimelineOfItsSteps) {
  const std::filesystem::path prefix = dir / "trace";
  ::setenv(kReconTraceEnv, prefix.c_str(), 1);
  const ReconSummary s = reconstruct(options, world());
  ::unsetenv(kReconTraceEnv);
  world().barrier();
  std::map<std::string, int> count;  // over every rank
  const bool schedstat = std::filesystem::exists("/proc/thread-self/schedstat");
  for (int rank = 0; rank < world().size(); ++rank) {
    const std::filesystem::path file = prefix.string() + ".rank" + std::to_string(rank) + ".json";
    std::ifstream in(file);
    ASSERT_TRUE(in) << file;
    const Json events = Json::parse(in);
    std::map<std::int64_t, std::string> threads;
    double begin = 0, end = 0;
    for (const Json& e : events)
      if (e["ph"] == "M") threads[e["tid"].get<std::int64_t>()] = e["args"]["name"].get<std::string>();
    for (const Json& e : events) {
      if (e["ph"] != "X") continue;
      EXPECT_EQ(e["pid"], rank);
      EXPECT_GE(e["dur"].get<double>(), 0);
      // Every span says how much CPU its thread spent in it and, where the
      // kernel keeps scheduler statistics, how long it waited for a core.
      ASSERT_TRUE(e["args"].contains("cpu_us")) << e.dump();
      EXPECT_GE(e["args"]["cpu_us"].get<double>(), 0) << e.dump();
      if (schedstat) {
        ASSERT_TRUE(e["args"].contains("runqueue_us")) << e.dump();
        EXPECT_GE(e["args"]["runqueue_us"].get<double>(), 0) << e.dump();
      }
      const std::string name = e["name"];
      ++count[name];
      if (name == "reconstruct") begin = e["ts"].get<double>(), end = begin + e["dur"].get<double>();
      if (name == "kernel" || name == "preprocess") {
        EXPECT_EQ(threads.at(e["tid"].get<std::int64_t>()), "compute");
      }
      if (name == "read" || name == "write") {
        EXPECT_EQ(threads.at(e["tid"].get<std::int64_t>()), "main");
        EXPECT_TRUE(e["args"].contains("round")) << e.dump();
      }
    }
    for (const Json& e : events) {
      if (e["ph"] != "X") continue;
      EXPECT_GE(e["ts"].get<double>(), begin) << e.dump();
      EXPECT_LE(e["ts"].get<double>() + e["dur"].get<double>(), end + 1) << e.dump();
    }
  }
  EXPECT_EQ(count["reconstruct"], world().size());
  for (const char* step : {"read", "preprocess", "kernel", "write"}) EXPECT_EQ(count[step], 3) << step;
  EXPECT_EQ(count["publish"], world().size());
  EXPECT_EQ(s.rounds, 3);
}

// A new output needs the input's digest only when it is created, so its
// first round is read (and handed to the compute thread) before the digest
// is asked for: a fresh run no longer waits for rank 0's read of the whole
// input before its first kernel. A run that may resume needs the digest to
// decide whether the partial file is its own, and its done flags to
// partition, before it reads anything; it resumes bit for bit.
TEST_F(ReconJobTest, ANewOutputReadsItsFirstRoundBeforeTheDigest) {
  const std::filesystem::path prefix = dir / "order";
  // This rank's first span of each name: {begin, end}.
  const auto spans = [&](const ReconOptions& o) {
    ::setenv(kReconTraceEnv, prefix.c_str(), 1);
    const ReconSummary s = reconstruct(o, world());
    ::unsetenv(kReconTraceEnv);
    std::ifstream in(prefix.string() + ".rank" + std::to_string(world().rank()) + ".json");
    std::map<std::string, std::pair<double, double>> first;
    for (const Json& e : Json::parse(in))
      if (e["ph"] == "X") {
        const double begin = e["ts"].get<double>();
        first.try_emplace(e["name"].get<std::string>(), begin, begin + e["dur"].get<double>());
      }
    world().barrier();
    return std::pair(s, first);
  };
  // Each rank that reads (the fixture's 3 row pairs go to 1 to min(3,
  // ranks) ranks, whichever claim them first) ends its first read before
  // its digest step begins; returns how many ranks read. No ASSERT here:
  // a rank leaving the test early would leave the others at a collective.
  const auto reads_before_digest = [&](const std::map<std::string, std::pair<double, double>>& o) {
    EXPECT_TRUE(o.contains("input digest"));
    if (o.contains("read") && o.contains("input digest")) {
      EXPECT_LE(o.at("read").second, o.at("input digest").first);
    }
    return world().sum(o.contains("read") ? 1 : 0);
  };
  const std::int64_t readers = std::min<std::int64_t>(3, world().size());
  const auto some_ranks_read = [&](std::int64_t n) { return n >= 1 && n <= readers; };
  auto [fresh, order] = spans(options);
  EXPECT_PRED1(some_ranks_read, reads_before_digest(order));
  EXPECT_EQ(VolumeFile::read_header(output).input_digest, file_digest(input, DigestKind::Xxh128));
  EXPECT_EQ(fresh.input_digest, file_digest(input, DigestKind::Xxh128));
  const VolumeSlab whole = read_volume(output);

  // Replacing an output is a new output too.
  ReconOptions replace = options;
  replace.overwrite = true;
  std::tie(fresh, order) = spans(replace);
  EXPECT_PRED1(some_ranks_read, reads_before_digest(order));
  EXPECT_EQ(read_volume(output).values, whole.values);

  // A partial file missing slices 2..4: the digest first, then the reads.
  world().barrier();  // every rank has read the output (HDF5 locks it)
  world().agree([&] {
    if (!world().is_root()) return;
    std::filesystem::rename(output, partial_output_path(output));
    const io::h5::Site site{"test", "States.TaskFailed", partial_output_path(output).string()};
    io::h5::Handle file = io::h5::open_file(partial_output_path(output), io::h5::Access::ReadWrite, std::nullopt, site);
    io::h5::Handle done = *io::h5::try_open_dataset(file.get(), kDoneDataset, site);
    const std::vector<std::uint8_t> zeros(3, 0);
    io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, site);
    io::h5::write_slab(done.get(), {2}, {3}, H5T_NATIVE_UINT8, zeros.data(), dxpl.get(), site);
  });
  const auto [resumed, resumed_order] = spans(options);
  EXPECT_EQ(resumed.already_done, 2);
  EXPECT_EQ(resumed.computed, 3);
  EXPECT_TRUE(resumed_order.contains("input digest"));
  if (resumed_order.contains("read") && resumed_order.contains("input digest")) {
    EXPECT_LE(resumed_order.at("input digest").second, resumed_order.at("read").first);
  }
  EXPECT_EQ(read_volume(output).values, whole.values);
}

TEST_F(ReconJobTest, RowsSelectSlices) {
  options.rows = RowSpec::parse("1:4");
  const ReconSummary s = reconstruct(options, world());
  EXPECT_EQ(s.slices, 3);
  EXPECT_EQ(volume_shape(output), (std::array<std::int64_t, 3>{3, 32, 32}));
  EXPECT_EQ(VolumeFile::read_header(output).rows, (parallel::RowRange{1, 4}));
}

TEST_F(ReconJobTest, AForeignOutputIsRefusedOnEveryRank) {
  reconstruct(options, world());
  options.filter = "hann";
  expect_error([&] { reconstruct(options, world()); }, "tomo.output.exists", {"filter: 'shepp' vs 'hann'"});
  options.overwrite = true;
  EXPECT_EQ(reconstruct(options, world()).computed, 5);
}

TEST_F(ReconJobTest, AnErrorOnOneRankStopsAllOfThem) {
  // Float data with a NaN in row 4 only: the rank reading row 4 fails, the
  // others must fail with it rather than wait in the collective write.
  world().agree([&] {
    if (!world().is_root()) return;
    DxWriter w(input);
    std::vector<float> data(10 * 5 * 32, 1.f);
    data[4 * 32 + 7] = NAN;  // angle 0, row 4, column 7
    w.write("/exchange/data", {10, 5, 32}, data);
    w.close();
  });
  expect_error([&] { reconstruct(options, world()); }, "tomo.input.nan",
               {"row 4, column 7", "dataset=/exchange/data"});
  // An incomplete volume is never under the final name (issue 9): its checkpoint is OUTPUT.partial.
  EXPECT_FALSE(std::filesystem::exists(output));
  const auto done = [&] {
    VolumeFile v(partial_output_path(output));
    auto d = v.done();
    v.close();
    return d;
  }();
  EXPECT_EQ(done[4], 0);
}

TEST_F(ReconJobTest, ImpossibleOptionsAreUsageErrors) {
  auto expect_usage = [&](auto change, const std::string& id, const std::string& mention) {
    ReconOptions o = options;
    change(o);
    expect_error([&] { reconstruct(o, world()); }, id, {mention});
  };
  expect_usage([](ReconOptions& o) { o.pad = 0; }, "tomo.usage.pad", "--pad must be 1..8");
  expect_usage([](ReconOptions& o) { o.chunk_rows = -1; }, "tomo.usage.chunk_rows", "--chunk-rows");
  expect_usage([](ReconOptions& o) { o.memory_budget_mib = 0; }, "tomo.usage.memory", "--memory-budget-mib");
  expect_usage([](ReconOptions& o) { o.filter = "nope"; }, "tomo.usage.filter", "nope");
  expect_usage([](ReconOptions& o) { o.algorithm = "art"; }, "tomo.usage.algorithm", "art");
  expect_usage([](ReconOptions& o) { o.backend = "Cuda"; }, "tomo.usage.backend", "not available");
  expect_usage([](ReconOptions& o) { o.center = CenterSpec::parse("1,2"); }, "tomo.usage.center",
               "2 centres given for 5 slices");
  EXPECT_FALSE(std::filesystem::exists(output));
}

TEST_F(ReconJobTest, AutomaticCentreIsRecorded) {
  options.center = CenterSpec::parse("auto:2");
  const ReconSummary s = reconstruct(options, world());
  ASSERT_TRUE(s.center_search.has_value());
  EXPECT_EQ(s.center_search->sampled_rows.size(), 2u);
  EXPECT_NEAR(s.center_search->center, 15.5, 0.5);
  EXPECT_EQ(VolumeFile::read_header(output).centers, s.centers);
}

}  // namespace
}  // namespace beamflow::jobs

namespace beamflow::jobs {
namespace {

// Which chunks (their index in the list, the trace's "round") each rank
// wrote, from the traces under `prefix`.
std::vector<std::vector<std::int64_t>> chunks_written(const std::filesystem::path& prefix) {
  std::vector<std::vector<std::int64_t>> out(std::size_t(testing::world().size()));
  for (int rank = 0; rank < testing::world().size(); ++rank) {
    std::ifstream in(prefix.string() + ".rank" + std::to_string(rank) + ".json");
    for (const Json& e : Json::parse(in))
      if (e["ph"] == "X" && e["name"] == "write") out[std::size_t(rank)].push_back(e["args"]["round"].get<std::int64_t>());
  }
  return out;
}

// No lockstep rounds: ranks claim the list's chunks as they become free,
// so when rank 1 is slow (the test hook sleeps 1 s after each of its
// kernels, as a core running 40-70% slower would) the other ranks take
// more of the 24 chunks than an even split's 24 / ranks, rank 1 fewer, and
// every chunk is still written exactly once, with the bits of a run
// without the slow rank.
TEST_F(ReconJobTest, ASlowRankTakesFewerChunksAndTheOthersMore) {
  if (world().size() == 1) GTEST_SKIP() << "needs a rank beside the slow one";
  options.input = dir / "p48.h5";
  world().agree([&] {
    if (!world().is_root()) return;
    PhantomOptions p = testing::small_phantom(options.input, 32, 40, 48);
    p.photons = 0;
    make_phantom(p);
  });
  options.chunk_rows = 2;
  const ReconSummary even = reconstruct(options, world());
  ASSERT_EQ(even.rounds, 24);
  const std::filesystem::path prefix = dir / "slow";
  ::setenv(kReconTraceEnv, prefix.c_str(), 1);
  ::setenv(kSlowRankEnv, "1:1000", 1);
  options.output = dir / "slow.h5";
  const ReconSummary s = reconstruct(options, world());
  ::unsetenv(kSlowRankEnv);
  ::unsetenv(kReconTraceEnv);
  EXPECT_EQ(s.computed, 48);
  world().barrier();
  if (!world().is_root()) return;
  const auto chunks = chunks_written(prefix);
  std::vector<std::int64_t> all;
  for (const auto& c : chunks) all.insert(all.end(), c.begin(), c.end());
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> each(24);
  std::iota(each.begin(), each.end(), 0);
  EXPECT_EQ(all, each);
  const std::size_t even_share = 24 / std::size_t(world().size());
  EXPECT_LT(chunks[1].size(), even_share) << "the slow rank took as many chunks as an even split gives it";
  // With two ranks the fast one takes the slow one's surplus. With more, the
  // surplus is shared among the fast ranks, and on 4 ranks oversubscribed on
  // 2 busy cores rank 0 has taken exactly its share (load 13) while the
  // others took more.
  if (world().size() == 2)
    EXPECT_GT(chunks[0].size(), even_share) << "rank 0 took no more chunks than an even split gives it";
  else
    EXPECT_GE(chunks[0].size(), even_share) << "rank 0 took fewer chunks than an even split gives it";
  EXPECT_EQ(read_volume(options.output).values, read_volume(output).values);
}

}  // namespace
}  // namespace beamflow::jobs
