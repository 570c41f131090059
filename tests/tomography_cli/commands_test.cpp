// phantom, preview and --help through the binary.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_fixture.hpp"

namespace beamflow::jobs::testing {
namespace {

TEST_F(CliTest, PhantomWritesDataTruthAndSideFile) {
  const Json t = phantom("p.h5", "--size 64 --angles 30 --rows 3 --center-offset -2.5 --seed 9");
  EXPECT_EQ(t["center"].get<double>(), 29.0);
  EXPECT_EQ(t["volume_file"], "p.truth.h5");
  std::ifstream side(path("p.truth.json"));
  EXPECT_EQ(Json::parse(side), t);
  EXPECT_EQ(volume(path("p.truth.h5")).size(), 3u * 64u * 64u);
  const Ran again = beamflow("phantom --output p.h5 --size 64");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("[tomo.output.exists]"), std::string::npos) << again.err;
  EXPECT_EQ(beamflow("phantom --output q.h5 --size 4").code, 2);
}

TEST_F(CliTest, PreviewDrawsChosenSlices) {
  phantom("p.h5", "--size 64 --angles 60 --rows 4");
  Ran r = beamflow("recon -q --input p.h5 --output r.h5 --center 31.5 --preview r.png --preview-slices 1,2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(path("r_s0001.png")));
  EXPECT_TRUE(std::filesystem::exists(path("r_s0002.png")));
  r = beamflow("preview --json --input r.h5 --output middle.png");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["slices"], Json::array({2}));
  EXPECT_LT(j["windows"][0][0].get<double>(), j["windows"][0][1].get<double>());
  r = beamflow("preview --input r.h5 --output x.png --slices 4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("[tomo.usage.slice]"), std::string::npos) << r.err;
}

TEST_F(CliTest, HelpListsTheOptionsWithDefaults) {
  const Ran r = beamflow("recon --help");
  EXPECT_EQ(r.code, 0);
  for (const char* option :
       {"--input", "--chunk-rows", "--center", "[auto]", "--memory-budget-mib", "[1024]"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
}

}  // namespace
}  // namespace beamflow::jobs::testing
