// Collective error agreement: when one rank fails, every rank throws that
// rank's error and none is left waiting in a collective call.
#include <gtest/gtest.h>

#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "jobs/tomography/errors.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::world;

TEST(Comm, AgreeIsSilentWhenEveryRankSucceeds) {
  int ran = 0;
  world().agree([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

TEST(Comm, EveryRankThrowsTheLastRanksError) {
  const int failing = world().size() - 1;
  testing::expect_error(
      [&] {
        world().agree([&] {
          if (world().rank() == failing)
            throw input_error("tomo.input.nan", "bad value", {{"file", "x.h5"}, {"dataset", "/d"}});
        });
      },
      "tomo.input.nan", {"bad value", "file=x.h5", "dataset=/d"});
  world().barrier();  // still in step
}

TEST(Comm, OtherExceptionsBecomeTypedErrors) {
  testing::expect_error([&] { world().agree([] { throw std::bad_alloc(); }); }, "tomo.memory",
                        {"--chunk-rows"});
  testing::expect_error([&] { world().agree([] { throw std::runtime_error("boom"); }); }, "tomo.internal",
                        {"boom"});
}

TEST(Comm, CollectivesReduceOverRanks) {
  EXPECT_EQ(world().sum(std::int64_t{1}), world().size());
  EXPECT_EQ(world().max(std::int64_t{world().rank()}), world().size() - 1);
  std::vector<double> v{1.0, double(world().rank())};
  world().sum_in_place(v);
  EXPECT_EQ(v[0], world().size());
  EXPECT_EQ(world().broadcast(world().is_root() ? "hello" : ""), "hello");
}

// A rank that waits in agree() for a slower rank on the same node sleeps
// until that rank arrives: a few tests of MPI, not one a millisecond (the
// sleeping tests alone make about 1,000 in the second the last rank sleeps
// here). Counts MPI tests, not time: a loaded machine only makes the old
// loop's sleeps longer, so it would still make well over 100.
TEST(Comm, ARankWaitingForASlowerOneIsWokenWhenItArrives) {
  if (world().size() == 1) {
    GTEST_SKIP() << "needs another rank to wait for";
  }
  world().barrier();  // the doorbells exist, every rank is here
  const std::int64_t before = parallel::collective_wait_tests();
  const int slow = world().size() - 1;
  if (world().rank() == slow) std::this_thread::sleep_for(std::chrono::seconds(1));
  world().agree([] {});
  const std::int64_t tests = parallel::collective_wait_tests() - before;
  if (world().rank() != slow) {
    EXPECT_LT(tests, 20) << "MPI tests while waiting 1 s for rank " << slow;
  }
  EXPECT_EQ(world().sum(std::int64_t{1}), world().size());  // still in step
}

// A serial Comm (a process no launcher started) is one rank without MPI:
// the same results and the same agreement as a one-rank MPI communicator.
TEST(Comm, ASerialCommIsOneRankWithoutMpi) {
  const parallel::Comm serial = parallel::Comm::serial();
  EXPECT_TRUE(serial.is_serial());
  EXPECT_FALSE(serial.get().has_value());  // files open without MPI-IO
  EXPECT_THROW(serial.mpi(), std::logic_error);
  EXPECT_EQ(serial.rank(), 0);
  EXPECT_EQ(serial.size(), 1);
  EXPECT_EQ(serial.sum(std::int64_t{7}), 7);
  EXPECT_EQ(serial.max(2.5), 2.5);
  std::vector<double> v{1.0, 2.0};
  serial.sum_in_place(v);
  EXPECT_EQ(v, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(serial.broadcast("hello"), "hello");
  serial.barrier();
  int ran = 0;
  serial.agree([&] { ++ran; });
  EXPECT_EQ(ran, 1);
  testing::expect_error(
      [&] { serial.agree([] { throw input_error("tomo.input.nan", "bad value", {{"file", "x.h5"}}); }); },
      "tomo.input.nan", {"bad value", "file=x.h5"});
  testing::expect_error([&] { serial.agree([] { throw std::bad_alloc(); }); }, "tomo.memory", {"--chunk-rows"});
  EXPECT_FALSE(world().is_serial());  // the test main starts MPI (Mpi::Always)
}

}  // namespace
}  // namespace beamflow::jobs
