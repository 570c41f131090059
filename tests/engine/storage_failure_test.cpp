// Issue 9, section 2, in process: an ENOSPC while beamflow writes an action's
// state file stops the run with run.interrupted (nothing journaled as
// failed); once the space is back, resume reaches SUCCEEDED and the command
// ran once. The full disk is a real tmpfs (root or CAP_SYS_ADMIN needed;
// skipped elsewhere, saying why). tests/e2e/full_disk_test.cpp does the same
// through the binary, with random kills.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "../support/expect_error.hpp"
#include "engine_support.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow {
namespace {

namespace stdfs = std::filesystem;

TEST(StorageFailure, AnActionStateFileOnAFullDiskInterruptsTheRunAndResumeFinishesIt) {
  test::ScratchDir scratch;
  const auto root = scratch.path() / "runs";
  const auto actions = root / "r" / "actions";
  stdfs::create_directories(actions);
  if (::mount("tmpfs", actions.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "): needs root or CAP_SYS_ADMIN";
  struct Unmount {
    stdfs::path dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{actions};
  {
    std::FILE* f = std::fopen((actions / "filler").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  const auto lines = scratch.path() / "lines.txt";
  const Json flow = Json::parse(R"J({"StartAt": "C", "States": {
    "C": {"Type": "Task", "Resource": "command", "Parameters": {"argv.$": "States.Array('sh', '-c', 'echo once >> \"$0\"', $.file)"},
          "End": true}}})J");
  run::Engine engine(test::builtin_registry());
  test::expect_error([&] { engine.start(flow, {{"file", lines.string()}}, test::fast_options(root, "r")); },
                     "run.interrupted",
                     {"run r stopped, INTERRUPTED: beamflow cannot write its own state", "No space left on device",
                      "beamflow resume r"});
  EXPECT_FALSE(stdfs::exists(lines)) << "the command must not have run";
  for (const auto& e : run::read_history(root / "r" / "journal").events) {
    EXPECT_NE(e.type, run::RecordType::TaskFailed) << e.body.dump();
    EXPECT_NE(e.type, run::RecordType::RunEnded) << e.body.dump();
  }
  const auto summary = run::summarize_run(root, "r");
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->status, "INTERRUPTED");

  stdfs::remove(actions / "filler");
  const auto r = engine.resume("r", test::fast_options(root));
  EXPECT_EQ(r.status, run::RunStatus::Succeeded) << r.error.error << ": " << r.error.cause;
  std::ifstream in(lines);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "once\n");
}

}  // namespace
}  // namespace beamflow
