#pragma once
// Shared set-up for the action tests: a private run directory per test,
// requests as the engine builds them, and an engine-like driver loop.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "../support/process.hpp"
#include "actions/action.hpp"
#include "actions/builtins.hpp"

namespace beamflow::actions::testing {

namespace stdfs = std::filesystem;

class ActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_root = stdfs::temp_directory_path() /
             ("beamflow-actions-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" +
              info->name());
    stdfs::remove_all(m_root);
    run_dir = m_root / "runs" / "run-1";
    work_dir = m_root / "work";
    stdfs::create_directories(run_dir / "actions");
    stdfs::create_directories(work_dir);
    register_builtin_actions(registry);
  }
  void TearDown() override {
    std::error_code ec;
    stdfs::remove_all(m_root, ec);
  }

  Action& action(const std::string& name) {
    Action* a = registry.resolve(name);
    if (!a) throw std::runtime_error("no action " + name);
    return *a;
  }

  // As the engine builds it: the action id from (run, state, attempt) and
  // its state directory created before run().
  ActionRequest request(Json input, const std::string& state = "Step", int attempt = 0) {
    ActionRequest r;
    r.run_id = "run-1";
    r.state_name = state;
    r.attempt = attempt;
    r.action_id = state + "-" + std::to_string(attempt);
    r.input = std::move(input);
    r.run_dir = run_dir;
    r.work_dir = work_dir;
    r.state_dir = run_dir / "actions" / r.action_id;
    stdfs::create_directories(r.state_dir);
    return r;
  }

  // run(), then status() after each poll_after until the state is final.
  // Fails the test (returning the last state) after `limit`.
  static ActionState drive(Action& a, const ActionRequest& r,
                           std::chrono::seconds limit = std::chrono::seconds(30)) {
    ActionState s = a.run(r);
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!s.done()) {
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "action " << r.action_id << " still active after " << limit.count() << " s";
        return s;
      }
      std::this_thread::sleep_for(s.poll_after);
      s = a.status(r);
    }
    return s;
  }

  static std::string slurp(const stdfs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Polls `pred` every 10 ms for up to 30 s; false on time-out.
  template <class Pred>
  static bool eventually(Pred&& pred) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // `actions_test __supervise DIR` with no lock handed over (fd 3 closed),
  // as a person would start it by hand. Returns its exit code.
  static int supervise_by_hand(const stdfs::path& state_dir) {
    test::ProcessOptions options;
    options.close_fds = {3};
    const test::ProcessResult r =
        test::run_process({current_executable().string(), "__supervise", state_dir.string()}, options);
    return r.signal ? -1 : r.exit_code;
  }

  ActionRegistry registry;
  stdfs::path run_dir;
  stdfs::path work_dir;

 private:
  stdfs::path m_root;
};

}  // namespace beamflow::actions::testing
