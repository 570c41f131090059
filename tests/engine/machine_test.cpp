// Who and where a process is (platform/machine.hpp, node_name in
// platform/launcher.hpp) and whether a directory's locks are cluster-wide
// (platform/fs.hpp): what the supervisors of a pilot over several nodes
// rely on (issue 12).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.hpp"
#include "platform/fs.hpp"
#include "platform/launcher.hpp"
#include "platform/machine.hpp"

namespace beamflow::platform {
namespace {

TEST(Machine, ThisHomeIsKnownAndOnlyAFullMatchIsTheSameHome) {
  const ProcessHome& here = this_home();
  EXPECT_EQ(here.host, node_name());
  EXPECT_EQ(here.boot_id.size(), 36u);
  EXPECT_EQ(here.pid_ns.rfind("pid:[", 0), 0u);
  EXPECT_TRUE(here.same_as(here));
  for (int part = 0; part < 3; ++part) {
    ProcessHome other = here;
    (part == 0 ? other.host : part == 1 ? other.boot_id : other.pid_ns) += "x";
    EXPECT_FALSE(here.same_as(other)) << part;
    (part == 0 ? other.host : part == 1 ? other.boot_id : other.pid_ns).clear();
    EXPECT_FALSE(here.same_as(other)) << part;  // a record without it
    EXPECT_FALSE(other.same_as(other)) << part;
  }
}

TEST(Machine, NodeNameIsSlurmsNameWhenSlurmGivesOne) {
  const auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* name) -> std::optional<std::string> {
      auto it = vars.find(name);
      return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
  };
  EXPECT_EQ(node_name(env({{"SLURMD_NODENAME", "nid001234"}})), "nid001234");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(node_name(env({})), host);
  EXPECT_EQ(node_name(env({{"SLURMD_NODENAME", ""}})), host);
}

TEST(LockScope, NodeLocalFlockMountsAreNamed) {
  EXPECT_EQ(fs::lock_scope_problem("nfs4", "rw,relatime,vers=4.2,local_lock=none,addr=10.0.0.1"), "");
  EXPECT_EQ(fs::lock_scope_problem("nfs", "rw,vers=3,local_lock=none"), "");
  EXPECT_NE(fs::lock_scope_problem("nfs", "rw,vers=3,local_lock=flock,addr=10.0.0.1").find("local_lock=flock"),
            std::string::npos);
  EXPECT_NE(fs::lock_scope_problem("nfs4", "rw,local_lock=all").find("local_lock=all"), std::string::npos);
  EXPECT_EQ(fs::lock_scope_problem("lustre", "rw,flock,lazystatfs"), "");
  EXPECT_NE(fs::lock_scope_problem("lustre", "rw,localflock").find("-o flock"), std::string::npos);
  EXPECT_EQ(fs::lock_scope_problem("ext4", "rw,relatime,local_lock=flock"), "");  // not NFS: no such option there
  EXPECT_EQ(fs::lock_scope_problem("gpfs", "rw"), "");
  EXPECT_EQ(fs::lock_scope_problem("nfs4", "rw,xlocal_lock=flock"), "");
}

TEST(LockScope, ALocalDirectoryPasses) {
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_NO_THROW(fs::require_cluster_wide_locks(dir));
  auto lock = fs::FileLock::try_acquire(dir / ("beamflow-lockscope-" + std::to_string(::getpid())));
  EXPECT_TRUE(lock.has_value());
  std::filesystem::remove(dir / ("beamflow-lockscope-" + std::to_string(::getpid())));
}

TEST(LockScope, APilotDirectoryOnANodeLocalFlockMountIsRefused) {
  const auto dir = std::filesystem::temp_directory_path();
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  const std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  const auto mountinfo = dir / ("beamflow-mountinfo-" + std::to_string(::getpid()));
  std::ofstream(mountinfo) << "22 1 " << dev << " / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                           << "40 22 " << dev << " /export /shared rw,relatime shared:9 - nfs4 srv:/export "
                           << "rw,vers=4.2,local_lock=flock,addr=10.0.0.1\n"
                           << "41 22 0:999 / /other rw - nfs4 srv:/o rw,local_lock=all\n";
  try {
    fs::require_cluster_wide_locks(dir, mountinfo);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "fs.lock_unsupported");
    EXPECT_NE(std::string(e.what()).find("locks in this directory are not cluster-wide: it is on an NFS mount with "
                                         "local_lock=flock: flock(2) locks stay on each client"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(mountinfo) << "22 1 " << dev << " / / rw shared:1 - nfs4 srv:/ rw,local_lock=none\n";
  EXPECT_NO_THROW(fs::require_cluster_wide_locks(dir, mountinfo));
  std::filesystem::remove(mountinfo);
}

}  // namespace
}  // namespace beamflow::platform
