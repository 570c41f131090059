// A task's handle (run::TaskHandle): the driver issues one when it launches
// a task, an executor that names progress names it so, and a handle whose
// slot was freed since (its task ended and forgotten) names no task: the
// task that got the slot next is not polled for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "engine_support.hpp"
#include "platform/events.hpp"
#include "run/executor.hpp"

namespace beamflow {
namespace {

using actions::ActionState;

// Runs every task "elsewhere": start() answers Active, and a task ends only
// when the executor has named it progressed. Before it names the second
// task's handle, it names the first task's, ended since (a late report).
class LateReporter final : public run::Executor {
 public:
  explicit LateReporter(fs::Wakeup& wakeup) : m_wakeup(wakeup) {}
  const char* name() const noexcept override { return "late-reporter"; }
  ActionState start(run::TaskHandle h, actions::Action&, const actions::ActionRequest& r,
                    const actions::Placement&) override {
    started.push_back(h);
    if (started.size() == 1) {
      m_pending = {h};
    } else {
      m_pending = {started.front()};  // stale: that task ended
      m_then = {h};
    }
    m_wakeup.notify();
    return ActionState::active(r.action_id, std::chrono::milliseconds(60'000));
  }
  ActionState poll(run::TaskHandle h, actions::Action&, const actions::ActionRequest& r,
                   const actions::Placement&) override {
    polled.push_back(h);
    if (std::find(m_done.begin(), m_done.end(), h) != m_done.end())
      return ActionState::succeeded(r.action_id, r.input);
    return ActionState::active(r.action_id, std::chrono::milliseconds(60'000));
  }
  void cancel(run::TaskHandle, actions::Action&, const actions::ActionRequest&, const actions::Placement&) override {}
  void release(run::TaskHandle h, actions::Action&, const actions::ActionRequest&,
               const actions::Placement&) override {
    released.push_back(h);
  }
  std::filesystem::path watch_dir(const actions::Action&, const actions::ActionRequest&) const override { return {}; }
  bool names_progress() const noexcept override { return true; }
  std::vector<run::TaskHandle> take_progressed() override {
    auto out = std::exchange(m_pending, {});
    m_done.insert(m_done.end(), out.begin(), out.end());
    if (!m_then.empty()) {
      // The second task's own report comes at the next wake-up.
      m_pending = std::exchange(m_then, {});
      m_wakeup.notify();
    }
    return out;
  }

  std::vector<run::TaskHandle> started, polled, released;

 private:
  fs::Wakeup& m_wakeup;
  std::vector<run::TaskHandle> m_pending, m_then, m_done;
};

TEST(TaskHandle, AHandleOfAForgottenTaskReachesNoOtherTask) {
  test::ScratchDir scratch;
  std::shared_ptr<LateReporter> ex;
  auto o = test::fast_options(scratch.path(), "r");
  o.executor = [&ex](fs::Wakeup& w) {
    ex = std::make_shared<LateReporter>(w);
    return ex;
  };
  run::Engine engine(test::builtin_registry());
  const auto r = engine.start(Json::parse(R"({"StartAt":"A","States":{
      "A":{"Type":"Task","Resource":"echo","Parameters":{"x":1},"Next":"B"},
      "B":{"Type":"Task","Resource":"echo","Parameters":{"x":2},"End":true}}})"),
                              Json::object(), o);
  ASSERT_EQ(r.status, run::RunStatus::Succeeded) << r.error.cause;
  EXPECT_EQ(r.output, (Json{{"x", 2}}));
  ASSERT_TRUE(ex);
  ASSERT_EQ(ex->started.size(), 2u);
  const run::TaskHandle a = ex->started[0], b = ex->started[1];
  // A's slot went to B, in a later generation.
  EXPECT_EQ(b.slot, a.slot);
  EXPECT_NE(b.gen, a.gen);
  // Each task was polled once, after its own report: A's late report did
  // not poll B (which would have found it still running).
  EXPECT_EQ(ex->polled, (std::vector<run::TaskHandle>{a, b}));
  EXPECT_EQ(ex->released, (std::vector<run::TaskHandle>{a, b}));
}

}  // namespace
}  // namespace beamflow
