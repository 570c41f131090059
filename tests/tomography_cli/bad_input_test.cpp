// Every bad input: a clear error naming file and dataset, exit code 1 (2 for
// usage), and no output a rerun could mistake for done.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cli_fixture.hpp"
#include "jobs/tomography/dx_writer.hpp"

namespace beamflow::jobs::testing {
namespace {

class BadInputTest : public CliTest {
 protected:
  // A 4-angle, 3-row, 8-column file; `change` may replace any part.
  struct Parts {
    std::vector<hsize_t> data{4, 3, 8}, flat{2, 3, 8};
    std::vector<double> theta{0, 45, 90, 135};
    float flat_value = 1000, data_value = 500;
    bool nan = false, with_data = true;
  };
  void write(const std::string& name, const Parts& p) {
    DxWriter w(path(name));
    auto count = [](const std::vector<hsize_t>& d) {
      std::size_t n = 1;
      for (auto x : d) n *= x;
      return n;
    };
    if (p.with_data) {
      std::vector<float> data(count(p.data), p.data_value);
      if (p.nan) data[5] = std::numeric_limits<float>::quiet_NaN();
      w.write("/exchange/data", p.data, data);
    }
    w.write("/exchange/data_white", p.flat, std::vector<float>(count(p.flat), p.flat_value));
    w.write("/exchange/data_dark", {2, 3, 8}, std::vector<float>(48, 10.f));
    w.write("/exchange/theta", {p.theta.size()}, p.theta);
    w.close();
  }
  // recon fails with `id` (exit `code`), naming the file and `dataset`, and
  // leaves no output behind.
  void expect_failure(const std::string& args, int code, const std::string& id, const std::string& dataset,
                      const std::string& file = "in.h5") {
    const Ran r = beamflow("recon --input " + file + " --output out.h5 --center 3.5 " + args);
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_NE(r.err.find("[" + id + "]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("file=" + file), std::string::npos) << r.err;
    if (!dataset.empty()) {
      EXPECT_NE(r.err.find("dataset=" + dataset), std::string::npos) << r.err;
    }
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.h5"))) << "a failed run left an output";
  }
};

TEST_F(BadInputTest, MissingProjections) {
  write("in.h5", {.with_data = false});
  expect_failure("", 1, "tomo.input.missing_dataset", "/exchange/data");
  expect_failure("--data-dataset /exchange/nope", 1, "tomo.input.missing_dataset", "/exchange/nope");
}

TEST_F(BadInputTest, FlatColumnsDifferFromTheData) {
  write("in.h5", {.flat = {2, 3, 7}});
  expect_failure("", 1, "tomo.input.shape", "/exchange/data_white");
}

TEST_F(BadInputTest, ThetaLengthDiffersFromTheAngles) {
  write("in.h5", {.theta = {0, 60, 120}});
  expect_failure("", 1, "tomo.input.shape", "/exchange/theta");
}

TEST_F(BadInputTest, ZeroOrNegativeFlats) {
  for (float flat : {0.f, -5.f}) {
    write("in.h5", {.flat_value = flat});
    // Values are checked as the slab is read: the output is created, but no
    // slice is marked done, so a rerun cannot take it for finished.
    const Ran r = beamflow("recon --input in.h5 --output out.h5 --center 3.5 --overwrite");
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("[tomo.input.flat_nonpositive]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("dataset=/exchange/data_white"), std::string::npos) << r.err;
    // Never under the final name (issue 9): the partial file holds the checkpoint.
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
    EXPECT_EQ(done_flags(path("out.h5.partial")), std::vector<std::uint8_t>(3, 0));
  }
}

TEST_F(BadInputTest, NanInTheData) {
  write("in.h5", {.nan = true});
  const Ran r = beamflow("recon --input in.h5 --output out.h5 --center 3.5");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("[tomo.input.nan]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dataset=/exchange/data"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
  EXPECT_EQ(done_flags(path("out.h5.partial")), std::vector<std::uint8_t>(3, 0));
}

// Issue 9 §3: NaN/Inf, zero flats or flat = dark with a fixed centre exit 1;
// nothing is ever under the final name, and an existing good output is kept.
TEST_F(BadInputTest, AFailedRunNeverLeavesAnOutputUnderTheFinalName) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Parts> bad{{.nan = true}, {.data_value = inf}, {.flat_value = 0}, {.flat_value = 10}};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    write("in.h5", bad[i]);
    const Ran r = beamflow("recon --input in.h5 --output out.h5 --center 3.5 --overwrite");
    EXPECT_EQ(r.code, 1) << i << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.h5"))) << "case " << i << " left a zero-filled output";
  }
  // With a complete output in place, a failed --overwrite run leaves it whole.
  write("good.h5", {});
  ASSERT_EQ(beamflow("recon -q --input good.h5 --output out.h5 --center 3.5 --overwrite").code, 0);  // replaces the stale partial
  const std::vector<float> before = volume(path("out.h5"));
  write("in.h5", {.nan = true});
  EXPECT_EQ(beamflow("recon --input in.h5 --output out.h5 --center 3.5 --overwrite").code, 1);
  EXPECT_EQ(done_flags(path("out.h5")), std::vector<std::uint8_t>(3, 1));
  EXPECT_EQ(volume(path("out.h5")), before);
}

TEST_F(BadInputTest, UnreadableAndTruncatedFiles) {
  shell("echo 'not hdf5' > junk.h5");
  expect_failure("", 1, "tomo.input.unreadable", "", "junk.h5");
  phantom("p.h5", "--size 64 --angles 90 --rows 4");
  shell("cp p.h5 cut.h5 && truncate -s 20000 cut.h5");
  expect_failure("", 1, "tomo.input.unreadable", "", "cut.h5");
  expect_failure("", 1, "tomo.input.not_found", "", "absent.h5");
}

TEST_F(BadInputTest, CentreOutsideTheDetector) {
  write("in.h5", {});
  const Ran r = beamflow("recon --input in.h5 --output out.h5 --center 8.5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[tomo.center.out_of_range]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("columns 0..7"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
}

TEST_F(BadInputTest, RowsOutOfRangeAndBadSyntax) {
  write("in.h5", {});
  expect_failure("--rows 2:9", 1, "tomo.rows.out_of_range", "/exchange/data");
  const Ran r = beamflow("recon --input in.h5 --output out.h5 --rows two");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("[tomo.usage.rows]"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, OutputInAMissingDirectory) {
  write("in.h5", {});
  const Ran r = beamflow("recon --input in.h5 --output no/such/dir/out.h5 --center 3.5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("[tomo.output.unwritable]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("file=no/such/dir/out.h5"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, UsageErrorsExitWithTwo) {
  write("in.h5", {});
  for (const std::string args : {"--algorithm art", "--filter foo", "--center 1,2", "--pad 0",
                                 "--chunk-rows x", "--backend cuda", "--no-such-option 1"}) {
    const Ran r = beamflow("recon --input in.h5 --output out.h5 " + args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.h5"))) << args;
  }
  EXPECT_EQ(beamflow("recon --output out.h5").code, 2);  // --input is required
}

}  // namespace
}  // namespace beamflow::jobs::testing
