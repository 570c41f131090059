// Collective error agreement: when one rank fails, every rank throws that
// rank's error and none is left waiting in a collective call.
#include <gtest/gtest.h>

#include <new>

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

}  // namespace
}  // namespace beamflow::jobs
