// A full destination (a 1 MiB tmpfs mounted by the test) and permission
// denied (the transfer runs in a child that dropped root to nobody): each a
// clear error, and no partial file under any name.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fixture.hpp"

namespace beamflow::transfer::testing {
namespace {

// The destination endpoint "compute" is a 1 MiB tmpfs mounted for the test.
class FullTest : public TransferTest {
 protected:
  void SetUp() override {
    TransferTest::SetUp();
    small = dir.path() / "small";
    stdfs::create_directories(small);
    if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") != 0)
      GTEST_SKIP() << "cannot mount a 1 MiB tmpfs (needs root or CAP_SYS_ADMIN): " << std::strerror(errno);
    mounted = true;
    endpoints = Endpoints::from_json(
        Json{{"endpoints",
              {{{"name", "beamline"}, {"path", src.string()}}, {{"name", "compute"}, {"path", small.string()}, {"write", true}}}}},
        dir.path());
  }
  void TearDown() override {
    if (mounted) ::umount2(small.c_str(), MNT_DETACH);
  }
  stdfs::path small;
  bool mounted = false;
};

TEST_F(FullTest, AFullDestinationFailsAndLeavesNothingPartial) {
  put(src / "d/a_small", bytes(100'000, 1));
  put(src / "d/b_big", bytes(3'000'000, 2));
  test::expect_error([&] { run(request(Json::array({item("d", "d", true)}), {{"chunk_size", 65536}})); },
                     "transfer.destination.full", {"No space left", "path=d/b_big"});
  // The file that fitted is complete; the one that did not left nothing.
  EXPECT_EQ(tree(small), (std::vector<std::string>{"d", "d/a_small"}));
  EXPECT_EQ(slurp(small / "d/a_small"), slurp(src / "d/a_small"));
}

// Small files are made durable and renamed in batches (copier.cpp): a
// failure before its batch is committed leaves none of the batch, neither
// under its final name nor as a temporary file.
TEST_F(FullTest, AFailureBeforeABatchIsCommittedLeavesNoneOfIt) {
  for (int i = 0; i < 10; ++i) put(src / ("d/a" + std::to_string(i)), bytes(20'000, static_cast<unsigned>(i)));
  put(src / "d/z_big", bytes(3'000'000, 99));  // copied after the ten (names sorted): no room
  test::expect_error([&] { run(request(Json::array({item("d", "d", true)}))); }, "transfer.destination.full",
                     {"path=d/z_big"});
  EXPECT_EQ(tree(small), (std::vector<std::string>{"d"}));
}

// Runs the transfer as `nobody` in a child; returns the error's text ("" on success).
std::string run_as_nobody(const std::function<void()>& transfer) {
  return test::Process::fork([&] {
           std::string text;
           if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
             text = "SKIP cannot drop privileges";
           } else {
             try {
               transfer();
             } catch (const Error& e) {
               text = e.what();
             } catch (const std::exception& e) {
               text = std::string("unexpected: ") + e.what();
             }
           }
           std::fwrite(text.data(), 1, text.size(), stdout);
           return 0;
         })
      .wait()
      .out;
}

TEST_F(TransferTest, PermissionDeniedOnEitherSide) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody (as a user, chmod would do: not tested here)";
  stdfs::permissions(dir.path(), stdfs::perms::all);
  stdfs::permissions(state.parent_path(), stdfs::perms::all);
  put(src / "secret", "s");
  stdfs::permissions(src / "secret", stdfs::perms::owner_read | stdfs::perms::owner_write);
  put(src / "open", "o");
  stdfs::permissions(dst, stdfs::perms::all);
  std::string text = run_as_nobody([&] { run(request(Json::array({item("secret", "secret")})), dir.path() / "s1"); });
  if (text.rfind("SKIP", 0) == 0) GTEST_SKIP() << text;
  EXPECT_NE(text.find("[transfer.source.denied]"), std::string::npos) << text;
  EXPECT_NE(text.find("Permission denied"), std::string::npos) << text;
  EXPECT_TRUE(tree(dst).empty());

  stdfs::permissions(dst, stdfs::perms::owner_all | stdfs::perms::group_read | stdfs::perms::group_exec |
                              stdfs::perms::others_read | stdfs::perms::others_exec);
  text = run_as_nobody([&] { run(request(Json::array({item("open", "open")})), dir.path() / "s2"); });
  EXPECT_NE(text.find("[transfer.destination.denied]"), std::string::npos) << text;
  text = run_as_nobody([&] { run(request(Json::array({item("open", "sub/open")})), dir.path() / "s3"); });
  EXPECT_NE(text.find("[transfer.destination.denied]"), std::string::npos) << text;
  EXPECT_TRUE(tree(dst).empty());
}

}  // namespace
}  // namespace beamflow::transfer::testing
