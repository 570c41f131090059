// Issue 9, section 5: $BEAMFLOW_HOME and everything beamflow creates under
// it are owner-only (0700 directories, 0600 files) whatever the umask, and a
// home (or runs directory) that other users can write is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "../support/expect_error.hpp"
#include "engine_support.hpp"
#include "run/paths.hpp"

namespace beamflow {
namespace {

namespace stdfs = std::filesystem;

unsigned mode_of(const stdfs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 01000000;
  return st.st_mode & 07777;
}

class UmaskZero {
 public:
  UmaskZero() : m_old(::umask(0)) {}
  ~UmaskZero() { ::umask(m_old); }

 private:
  mode_t m_old;
};

TEST(OwnerOnly, EveryDirectoryAndFileOfARunWhateverTheUmask) {
  test::ScratchDir scratch;
  const auto root = scratch.path() / "home" / "runs";
  {
    UmaskZero zero;
    run::Engine engine(test::builtin_registry());
    const Json flow = Json::parse(R"({"StartAt": "C", "States": {
      "C": {"Type": "Task", "Resource": "command", "Parameters": {"argv": ["sh", "-c", "echo $TOKEN"], "env": {"TOKEN": "s3cr3t"}},
            "Next": "S"},
      "S": {"Type": "Task", "Resource": "sleep", "Parameters": {"seconds": 0}, "End": true}}})");
    const auto r = engine.start(flow, {{"secret", "x"}}, test::fast_options(root, "r1"));
    ASSERT_EQ(r.status, run::RunStatus::Succeeded) << r.error.cause;
  }
  std::size_t files = 0, dirs = 0;
  EXPECT_EQ(mode_of(scratch.path() / "home"), 0700u);
  EXPECT_EQ(mode_of(root), 0700u);
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    if (e.is_directory()) {
      ++dirs;
      EXPECT_EQ(mode_of(e.path()), 0700u) << e.path();
    } else {
      ++files;
      EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
    }
  }
  EXPECT_GE(dirs, 3u);    // the run, actions/, an action's state directory
  EXPECT_GE(files, 8u);   // definition, input, journal, lock, status, spec.json, stdout, stderr, result.json ...
}

TEST(OwnerOnly, AHomeOthersCanWriteIsRefused) {
  test::ScratchDir scratch;
  const auto shared = scratch.path() / "shared";
  stdfs::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  test::expect_error([&] { run::runs_root(shared.string()); }, "run.home_shared",
                     {"other users can write to it (mode 0777)", "dir=" + shared.string()});
  ::chmod(shared.c_str(), 0775);
  test::expect_error([&] { run::runs_root(shared.string()); }, "run.home_shared", {"mode 0775"});
  ::chmod(shared.c_str(), 0755);
  EXPECT_EQ(run::runs_root(shared.string()), shared);
  // The default home, through BEAMFLOW_HOME.
  ::chmod(shared.c_str(), 0757);
  const char* old = std::getenv("BEAMFLOW_HOME");
  const std::string saved = old ? old : "";
  ::setenv("BEAMFLOW_HOME", shared.c_str(), 1);
  test::expect_error([&] { run::runs_root(); }, "run.home_shared", {"mode 0757"});
  if (old) ::setenv("BEAMFLOW_HOME", saved.c_str(), 1);
  else ::unsetenv("BEAMFLOW_HOME");
}

}  // namespace
}  // namespace beamflow
