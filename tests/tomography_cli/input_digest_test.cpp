// How a volume identifies its input: xxh128 by default, equal to what
// `xxhsum -H2` prints, SHA-256 on request, equal to `sha256sum`'s; a partial
// volume of an older beamflow (input_sha256 only) still resumes to the
// volume an uninterrupted run writes; a changed input is refused whichever
// digest the partial volume records.
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "io/hdf5.hpp"
#include "jobs/tomography/recon_job.hpp"
#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs::testing {
namespace {

constexpr const char* kPhantom = "--size 96 --angles 120 --rows 8 --center-offset 1";

class InputDigestTest : public CliTest {
 protected:
  void SetUp() override { phantom("p.h5", kPhantom); }
  static constexpr const char* kRecon = "recon -q --input p.h5 --center 48.5 --chunk-rows 2";

  // The first word `tool` prints for p.h5.
  std::string printed_by(const std::string& tool) const {
    const Ran r = shell(tool + " p.h5");
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find(' '));
  }
  // A run killed after its first round of chunks leaves out.h5.partial.
  void killed(const std::string& options) const {
    const std::string kill = std::string(kKillAfterChunksEnv) + "=1";
    const Ran r = beamflow(std::string(kRecon) + " --output out.h5 " + options, 0, kill);
    ASSERT_EQ(r.code, 128 + 9) << r.err;  // SIGKILL
    ASSERT_EQ(done_flags(path("out.h5.partial")), (std::vector<std::uint8_t>{1, 1, 0, 0, 0, 0, 0, 0}));
  }
  // Turns out.h5.partial into what an older beamflow wrote: without
  // input_digest, with the bare hex input_sha256 (already there for a
  // SHA-256 digest).
  void make_partial_old_format() const {
    const std::filesystem::path file = path("out.h5.partial");
    const io::h5::Site site{"test", "States.TaskFailed", file.string()};
    io::h5::Handle f = io::h5::open_file(file, io::h5::Access::ReadWrite, std::nullopt, site);
    io::h5::Handle data = *io::h5::try_open_dataset(f.get(), kVolumeDataset, site);
    ASSERT_TRUE(io::h5::read_string_attribute(data.get(), "input_sha256", site));
    ASSERT_GE(H5Adelete(data.get(), "input_digest"), 0);
  }
  std::optional<std::string> attribute(const std::string& file, const char* name) const {
    const io::h5::Site site{"test", "States.TaskFailed", path(file).string()};
    io::h5::Handle f = io::h5::open_file(path(file), io::h5::Access::ReadOnly, std::nullopt, site);
    io::h5::Handle data = *io::h5::try_open_dataset(f.get(), kVolumeDataset, site);
    return io::h5::read_string_attribute(data.get(), name, site);
  }
};

TEST_F(InputDigestTest, Xxh128ByDefaultAsXxhsumPrintsIt) {
  const Ran r = beamflow(std::string(kRecon) + " --output out.h5 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string expected = "xxh128:" + printed_by("xxhsum -H2");
  EXPECT_EQ(expected.size(), 7u + 32u);
  const Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["input_digest"], expected);
  EXPECT_TRUE(summary["input_sha256"].is_null());
  EXPECT_EQ(VolumeFile::read_header(path("out.h5")).input_digest, expected);
  EXPECT_EQ(attribute("out.h5", "input_digest"), expected);
  EXPECT_EQ(attribute("out.h5", "input_sha256"), std::nullopt);
}

TEST_F(InputDigestTest, Sha256OnRequestAsSha256sumPrintsIt) {
  const Ran r = beamflow(std::string(kRecon) + " --output out.h5 --json --input-digest sha256");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string hex = printed_by("sha256sum");
  EXPECT_EQ(hex.size(), 64u);
  const Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["input_digest"], "sha256:" + hex);
  EXPECT_EQ(summary["input_sha256"], hex);
  EXPECT_EQ(attribute("out.h5", "input_digest"), "sha256:" + hex);
  EXPECT_EQ(attribute("out.h5", "input_sha256"), hex);

  const Ran bad = beamflow(std::string(kRecon) + " --output other.h5 --input-digest md5");
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("input_digest: wants xxh128 or sha256"), std::string::npos) << bad.err;
}

// The partial volume of an older beamflow records only the SHA-256: a run
// with the default digest compares by SHA-256, computes the missing slices,
// and ends with the volume an uninterrupted run writes, bit for bit, still
// recording that SHA-256 (its header is never rewritten). A run that asks
// for xxh128 is refused, as for any other setting.
TEST_F(InputDigestTest, AnOlderPartialVolumeResumesBitIdentically) {
  Ran r = beamflow(std::string(kRecon) + " --output whole.h5");
  ASSERT_EQ(r.code, 0) << r.err;
  killed("--input-digest sha256");
  make_partial_old_format();

  r = beamflow(std::string(kRecon) + " --output out.h5 --input-digest xxh128");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("[tomo.output.exists]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("input digest: 'sha256:"), std::string::npos) << r.err;

  r = beamflow(std::string(kRecon) + " --output out.h5 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json summary = Json::parse(r.out);
  EXPECT_EQ(summary["computed"], 6);
  EXPECT_EQ(summary["already_done"], 2);
  const std::string hex = printed_by("sha256sum");
  EXPECT_EQ(summary["input_digest"], "sha256:" + hex);
  EXPECT_EQ(done_flags(path("out.h5")), std::vector<std::uint8_t>(8, 1));
  EXPECT_EQ(volume(path("out.h5")), volume(path("whole.h5")));
  EXPECT_EQ(attribute("out.h5", "input_digest"), std::nullopt);
  EXPECT_EQ(attribute("out.h5", "input_sha256"), hex);
}

// A changed input (same shape, other values) is refused on resume, whether
// the partial volume records xxh128, a SHA-256, or only an older
// beamflow's input_sha256; the partial volume is left as it was.
TEST_F(InputDigestTest, AChangedInputIsRefusedWhateverTheDigest) {
  phantom("changed.h5", "--size 96 --angles 120 --rows 8 --center-offset 2");
  ASSERT_EQ(shell("cp p.h5 first.h5").code, 0);
  for (const std::string kind : {"xxh128", "sha256", "older sha256"}) {
    SCOPED_TRACE(kind);
    ASSERT_EQ(shell("cp first.h5 p.h5 && rm -f out.h5.partial").code, 0);
    const std::string asked = kind == "xxh128" ? "" : "--input-digest sha256";
    killed(asked);
    if (kind == "older sha256") make_partial_old_format();
    ASSERT_EQ(shell("cp changed.h5 p.h5").code, 0);
    const std::vector<std::uint8_t> before = done_flags(path("out.h5.partial"));
    // By default the run compares by the kind the partial volume records;
    // asking for that kind compares the same way.
    const std::string same_kind = std::string("--input-digest ") + (asked.empty() ? "xxh128" : "sha256");
    for (const std::string& again : {std::string(), same_kind}) {
      const Ran r = beamflow(std::string(kRecon) + " --output out.h5 " + again);
      EXPECT_EQ(r.code, 1) << r.err;
      EXPECT_NE(r.err.find("[tomo.output.exists]"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("input digest: '"), std::string::npos) << r.err;
      EXPECT_EQ(done_flags(path("out.h5.partial")), before);
    }
  }
}

}  // namespace
}  // namespace beamflow::jobs::testing
