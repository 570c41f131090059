// Issue 9 §4, never destroy data: every output follows the one rule of
// platform/output_file.hpp. An output that is an input is always refused
// (same inode: also a symlink, a hard link or another spelling); an existing
// file is refused without --overwrite; a relative path may not climb out of
// the working directory.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_fixture.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "platform/checksum.hpp"

namespace beamflow::jobs::testing {
namespace {

class OutputRuleTest : public CliTest {
 protected:
  void SetUp() override { phantom("p.h5", "--size 32 --angles 40 --rows 4"); }
  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  void expect_refused(const Ran& r, const std::string& id) const {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("[" + id + "]"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
};

TEST_F(OutputRuleTest, ReconNeverReplacesItsInput) {
  const std::string raw = read("p.h5");
  shell("mkdir sub && ln -s p.h5 link.h5 && ln p.h5 hard.h5");
  for (const std::string& output :
       std::vector<std::string>{"p.h5", "./p.h5", "sub/../p.h5", "link.h5", "hard.h5", path("p.h5").string()}) {
    const Ran r = beamflow("recon --input p.h5 --center 15.5 --output " + output + " --overwrite");
    expect_refused(r, "fs.output.is_input");
    EXPECT_EQ(read("p.h5"), raw) << output << " replaced the raw scan";
  }
  // The other way round: the input reached through a link.
  expect_refused(beamflow("recon --input link.h5 --center 15.5 --output p.h5 --overwrite"), "fs.output.is_input");
  EXPECT_EQ(read("p.h5"), raw);
}

// The shipped flow with `volume` equal to `data` replaced the raw scan with
// the reconstruction and reported SUCCEEDED.
TEST_F(OutputRuleTest, TheShippedFlowNeverReplacesTheRawScan) {
  phantom("scan.h5", "--size 64 --angles 90 --rows 4");
  const std::string raw = read("scan.h5");
  std::ofstream(path("in.json")) << R"({"data": "scan.h5", "volume": "scan.h5", "preview": "v.png"})";
  const Ran r = beamflow("run " + std::string(BEAMFLOW_SOURCE_DIR) +
                         "/configs/flows/tomography.json --input in.json --json --runs-dir runs");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("fs.output.is_input"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(read("scan.h5"), raw);
}

TEST_F(OutputRuleTest, PhantomRefusesExistingTruthFiles) {
  for (const std::string side : {"q.truth.h5", "q.truth.json"}) {
    shell("rm -f q.h5 q.truth.h5 q.truth.json && echo mine > " + side);
    const Ran r = beamflow("phantom --output q.h5 --size 32 --angles 20 --rows 4");
    expect_refused(r, "fs.output.exists");
    EXPECT_EQ(read(side), "mine\n") << side;
    EXPECT_FALSE(std::filesystem::exists(path("q.h5"))) << "nothing is written when any output is refused";
  }
  ASSERT_EQ(beamflow("phantom --output q.h5 --size 32 --angles 20 --rows 4 --overwrite").code, 0);
  EXPECT_NE(read("q.truth.json"), "mine\n");
}

TEST_F(OutputRuleTest, PreviewsRefuseUnrelatedFilesAndStayInTheWorkingDirectory) {
  ASSERT_EQ(beamflow("recon -q --input p.h5 --center 15.5 --output r.h5").code, 0);
  shell("echo mine > x.png && echo mine > r_s0001.png");
  expect_refused(beamflow("preview --input r.h5 --output x.png"), "fs.output.exists");
  EXPECT_EQ(read("x.png"), "mine\n");
  expect_refused(beamflow("preview --input r.h5 --output r.png --slices 1,2"), "fs.output.exists");
  EXPECT_EQ(read("r_s0001.png"), "mine\n");
  EXPECT_FALSE(std::filesystem::exists(path("r_s0002.png"))) << "every file is checked before any is drawn";
  // recon --preview too, checked before reconstructing
  expect_refused(beamflow("recon --input p.h5 --center 15.5 --output r2.h5 --preview x.png"), "fs.output.exists");
  EXPECT_EQ(read("x.png"), "mine\n");
  // a preview is never the volume it is drawn from
  expect_refused(beamflow("preview --input r.h5 --output r.h5 --overwrite"), "fs.output.is_input");
  EXPECT_EQ(VolumeFile::read_header(path("r.h5")).slices, 4);
  // `..` does not leave the working directory
  shell("mkdir -p w");
  const std::string escaped = path("x").parent_path().filename().string() + "-escaped.png";
  const Ran up = beamflow("preview --input r.h5 --output w/../../" + escaped);
  expect_refused(up, "fs.output.outside");
  EXPECT_FALSE(std::filesystem::exists(path("x").parent_path().parent_path() / escaped));
  // --overwrite replaces; redrawing beamflow's own preview of the same volume needs no flag
  ASSERT_EQ(beamflow("preview --input r.h5 --output x.png --overwrite").code, 0);
  EXPECT_NE(read("x.png"), "mine\n");
  EXPECT_EQ(beamflow("preview --input r.h5 --output x.png").code, 0);
}

TEST_F(OutputRuleTest, AnIncompleteVolumeIsNeverUnderTheFinalName) {
  const Ran r = beamflow("recon --input p.h5 --center 15.5 --chunk-rows 2 --output r.h5", 0,
                         "BEAMFLOW_TEST_KILL_AFTER_CHUNKS=1");
  EXPECT_EQ(r.code, 128 + 9) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("r.h5")));
  EXPECT_EQ(done_flags(path("r.h5.partial")), (std::vector<std::uint8_t>{1, 1, 0, 0}));
  const Ran again = beamflow("recon --input p.h5 --center 15.5 --chunk-rows 2 --output r.h5");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("computing 2 of 4 slices (2 already done)"), std::string::npos) << again.err;
  EXPECT_EQ(done_flags(path("r.h5")), std::vector<std::uint8_t>(4, 1));
  EXPECT_FALSE(std::filesystem::exists(path("r.h5.partial")));
}

}  // namespace
}  // namespace beamflow::jobs::testing
