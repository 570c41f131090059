// A publish killed with SIGKILL at each named point of the protocol leaves
// either no entry (and the next publish cleans up what it left) or a
// complete one whose every file verifies. The real binary kills itself at
// $BEAMFLOW_CATALOG_CRASH_AT (datasets.hpp), on both backends. Published
// in place, the same, and the data in place is never touched.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "catalog/support/backends.hpp"
#include "catalog/support/fixtures.hpp"
#include "jobs/catalog/datasets.hpp"
#include "support/process.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

// Runs the binary with `args`, `crash_at` in its environment; returns its
// exit code, or 128 + the signal that killed it.
beamflow::test::ProcessResult run_binary(const std::vector<std::string>& args, const std::string& crash_at) {
  std::vector<std::string> argv{BEAMFLOW_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  beamflow::test::ProcessOptions options;
  if (!crash_at.empty()) options.env = {{"BEAMFLOW_CATALOG_CRASH_AT", crash_at}};
  return beamflow::test::run_process(argv, options);
}

template <class Backend>
class CrashSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Backend::unavailable()) GTEST_SKIP() << Backend::name << " unavailable: " << *why;
    m_location = Backend::location(m_dir.path());
    std::ofstream(m_dir.path() / "meta.json") << metadata().dump();
    const auto src = m_dir.path() / "src";
    std::filesystem::create_directories(src / "sub");
    for (int i = 0; i < 5; ++i) std::ofstream(src / "sub" / ("f" + std::to_string(i))) << std::string(100000, 'a' + i);
  }
  beamflow::test::ProcessResult publish(const std::string& crash_at) {
    std::vector<std::string> args{"dataset", "publish", (m_dir.path() / "src").string(), "--meta",
                                  (m_dir.path() / "meta.json").string(), "--visible-to", "public", "--catalog", m_location,
                                  "--storage", (m_dir.path() / "storage").string()};
    if (m_in_place) args.push_back("--in-place");
    return run_binary(args, crash_at);
  }
  // The source is as SetUp wrote it.
  void expect_source_intact(const std::string& point) {
    for (int i = 0; i < 5; ++i) {
      std::ifstream in(m_dir.path() / "src/sub" / ("f" + std::to_string(i)), std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(data, std::string(100000, static_cast<char>('a' + i))) << point << " f" << i;
    }
  }
  // Directories under storage/ other than .staging: the published bags.
  std::vector<std::filesystem::path> bags() {
    std::vector<std::filesystem::path> out;
    for (const auto& id : std::filesystem::directory_iterator(m_dir.path() / "storage"))
      if (id.path().filename() != ".staging")
        for (const auto& v : std::filesystem::directory_iterator(id.path())) out.push_back(v.path());
    return out;
  }
  int staged_dirs() {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(m_dir.path() / "storage" / ".staging"))
      n += e.is_directory() || e.path().extension() == ".target";
    return n;
  }
  void crash_then_recover(const std::string& point, bool entry_expected) {
    const auto r = publish(point);
    ASSERT_EQ(r.signal, SIGKILL) << point << ": exit " << r.exit_code << " " << r.err;
    auto catalog = open_catalog(m_location);
    const auto found = catalog->search(parse_query({{"q", "steel"}}), Identity{"root", {}, true});
    ASSERT_EQ(found.total, entry_expected ? 1 : 0) << point;
    if (entry_expected) {
      Datasets d(*catalog, m_dir.path() / "storage");
      const auto report = d.verify(found.hits[0].entry.identifier, 0, Identity{"root", {}, true});
      EXPECT_TRUE(report.problems.empty()) << point;
      EXPECT_EQ(report.entry.files, 5u);
    }
    // The next publish succeeds and clears what the killed one left.
    ASSERT_EQ(publish("").exit_code, 0) << point;
    EXPECT_EQ(catalog->search(parse_query({{"q", "steel"}}), Identity{"root", {}, true}).total, entry_expected ? 2 : 1);
    EXPECT_EQ(bags().size(), entry_expected ? 2u : 1u) << point;
    EXPECT_EQ(staged_dirs(), 0) << point;
    for (const auto& bag : bags()) EXPECT_EQ(std::filesystem::exists(bag / "data"), !m_in_place) << bag;
    expect_source_intact(point);
  }
  void in_place() { m_in_place = true; }

  beamflow::test::ScratchDir m_dir{"beamflow-crash-"};
  std::string m_location;
  bool m_in_place = false;
};

TYPED_TEST_SUITE(CrashSuite, Backends, BackendNames);

TYPED_TEST(CrashSuite, KilledAfterMintingLeavesNoEntry) { this->crash_then_recover("minted", false); }
TYPED_TEST(CrashSuite, KilledWhileCopyingLeavesNoEntry) { this->crash_then_recover("copying", false); }
TYPED_TEST(CrashSuite, KilledWithTheBagStagedLeavesNoEntry) { this->crash_then_recover("staged", false); }
TYPED_TEST(CrashSuite, KilledAfterTheRenameLeavesNoEntry) { this->crash_then_recover("renamed", false); }
TYPED_TEST(CrashSuite, KilledAfterTheCommitLeavesACompleteEntry) { this->crash_then_recover("committed", true); }
TYPED_TEST(CrashSuite, InPlaceKilledWhileHashingLeavesNoEntry) {
  this->in_place();
  this->crash_then_recover("copying", false);
}
TYPED_TEST(CrashSuite, InPlaceKilledAfterTheRenameLeavesNoEntry) {
  this->in_place();
  this->crash_then_recover("renamed", false);
}
TYPED_TEST(CrashSuite, InPlaceKilledAfterTheCommitLeavesACompleteEntry) {
  this->in_place();
  this->crash_then_recover("committed", true);
}

}  // namespace
}  // namespace beamflow::catalog::test
