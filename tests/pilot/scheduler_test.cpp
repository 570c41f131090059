// The pilot's scheduler with its worker played by the test: a task travels
// under a handle, and an outcome whose handle names a slot since given to
// another task is refused, not taken for that task's. The driver's side is
// played too: its handles (run::TaskHandle) name the tasks that progressed,
// and a stale one (its task released since) reaches no other task.
#include "pilot/scheduler.hpp"

#include <gtest/gtest.h>

#include "actions/action.hpp"
#include "pilot/channel.hpp"
#include "pilot/wire.hpp"
#include "platform/events.hpp"

namespace beamflow::pilot {
namespace {

actions::ActionRequest request(const std::string& id) {
  actions::ActionRequest r;
  r.action_id = id;
  r.input = {{"id", id}};
  r.run_id = "run-1";
  r.state_name = "E";
  return r;
}

// What the coordinator sent the worker since last asked.
std::vector<wire::Task> sent_to(Channel& worker) {
  std::vector<wire::Task> out;
  for (auto& env : worker.receive())
    if (wire::kind_of(env.bytes) == wire::Kind::Tasks)
      for (auto& t : wire::decode_tasks(env.bytes)) out.push_back(std::move(t));
  return out;
}

void report(Channel& worker, wire::Handle h, const std::string& from) {
  wire::DoneBatch batch;
  batch.add(h, actions::ActionState::succeeded("", Json{{"from", from}}));
  worker.send(0, batch.take());
}

// A scheduler of one worker rank, which the test plays, and the executor of
// one run's driver.
class PilotScheduler : public ::testing::Test {
 protected:
  PilotScheduler() {
    worker.send(0, Json{{"t", "hello"}, {"host", "h"}}.dump());
    actions::register_builtin_actions(registry);
  }
  LocalChannels channels{2};
  Channel& worker = channels.at(1);
  Scheduler s{channels.at(0)};
  actions::ActionRegistry registry;
  fs::Wakeup wakeup;
  const std::shared_ptr<run::Executor> ex = s.executor("run-1", wakeup);
  const actions::Placement p;  // one rank, in process
};

// The driver's handles of its first tasks: slot 0, then slot 0 again in the
// next generation (as run::Driver gives them out after a task is forgotten).
constexpr run::TaskHandle kA{0, 0}, kB{0, 1};

TEST_F(PilotScheduler, AnOutcomeForASlotGivenToAnotherTaskIsRefused) {
  actions::Action& echo = *registry.resolve("echo");

  const auto a = request("a");
  EXPECT_FALSE(ex->start(kA, echo, a, p).done());
  ex->flush();  // as the driver after a batch
  s.pump();
  auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  const wire::Handle old = sent[0].handle;
  EXPECT_EQ(sent[0].request.action_id, "a");
  report(worker, old, "a");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{kA});
  auto st = ex->poll(kA, echo, a, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.action_id, "a");
  ex->release(kA, echo, a, p);  // a's slot is free

  const auto b = request("b");
  EXPECT_FALSE(ex->start(kB, echo, b, p).done());
  ex->flush();
  s.pump();
  sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].handle & 0xffff'ffffu, old & 0xffff'ffffu);  // a's slot...
  EXPECT_NE(sent[0].handle, old);                                 // ...in a later generation
  // a's outcome once more (a worker's late report): b is still running.
  report(worker, old, "a");
  s.pump();
  EXPECT_TRUE(ex->take_progressed().empty());
  EXPECT_FALSE(ex->poll(kB, echo, b, p).done());
  EXPECT_EQ(s.status()["tasks"]["running"], 1);
  // b's own outcome is taken.
  report(worker, sent[0].handle, "b");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{kB});
  st = ex->poll(kB, echo, b, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.action_id, "b");
  EXPECT_EQ(st.details, (Json{{"from", "b"}}));
  // a was forgotten whole: its id starts afresh, not as the task that ended.
  ex->start(run::TaskHandle{1, 0}, echo, a, p);
  ex->flush();
  EXPECT_TRUE(ex->take_progressed().empty());
  s.pump();
  sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].request.action_id, "a");
}

TEST_F(PilotScheduler, AnOutcomeForAHandleNeverGivenOutIsRefused) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a");
  ex->start(kA, echo, a, p);
  ex->flush();
  s.pump();
  const auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  report(worker, sent[0].handle + 1, "x");              // a slot never used
  report(worker, sent[0].handle + (1ull << 32), "y");  // a's slot, a generation not yet reached
  s.pump();
  EXPECT_TRUE(ex->take_progressed().empty());
  EXPECT_FALSE(ex->poll(kA, echo, a, p).done());
}

// The driver's handle of a released task names no task: not the one the
// driver launched next in its slot, whose outcome it must not be given, nor
// one whose release it would be.
TEST_F(PilotScheduler, AStaleDriverHandleReachesNoOtherTask) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a"), b = request("b");
  // Starts `r` under driver handle `h`, has the worker report it done, and
  // checks that the driver hears of it under `h`.
  const auto run_to_done = [&](run::TaskHandle h, const actions::ActionRequest& r) {
    ex->start(h, echo, r, p);
    ex->flush();
    s.pump();
    const auto sent = sent_to(worker);
    ASSERT_EQ(sent.size(), 1u);
    report(worker, sent[0].handle, r.action_id);
    s.pump();
    EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{h});
  };
  ASSERT_NO_FATAL_FAILURE(run_to_done(kA, a));
  ASSERT_TRUE(ex->poll(kA, echo, a, p).done());
  ex->release(kA, echo, a, p);

  ASSERT_NO_FATAL_FAILURE(run_to_done(kB, b));
  // a's handle, polled or released again (a driver's late call), finds
  // neither a's outcome (gone) nor b's.
  EXPECT_FALSE(ex->poll(kA, echo, a, p).done());
  ex->release(kA, echo, a, p);
  ex->cancel(kA, echo, a, p);
  // b's outcome is still there for b's handle.
  const auto st = ex->poll(kB, echo, b, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.action_id, "b");
  EXPECT_EQ(st.details, (Json{{"from", "b"}}));
  ex->release(kB, echo, b, p);
  ex->flush();
  EXPECT_EQ(s.status()["tasks"]["running"], 0);
}

// Tasks in flight together: each driver handle reaches its own task's
// outcome, whichever ends first.
TEST_F(PilotScheduler, TasksInFlightTogetherEndUnderTheirOwnHandles) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a"), b = request("b");
  const run::TaskHandle ha{0, 0}, hb{1, 0};
  ex->start(ha, echo, a, p);
  ex->start(hb, echo, b, p);
  ex->flush();
  s.pump();
  const auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_EQ(sent[1].request.action_id, "b");
  report(worker, sent[1].handle, "b");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{hb});
  EXPECT_FALSE(ex->poll(ha, echo, a, p).done());
  auto st = ex->poll(hb, echo, b, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.details, (Json{{"from", "b"}}));
  ex->release(hb, echo, b, p);
  report(worker, sent[0].handle, "a");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{ha});
  st = ex->poll(ha, echo, a, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.details, (Json{{"from", "a"}}));
}

// A task submitted again under its action id (a driver launching a frame
// again) is the one entry: its end is named by the newest handle.
TEST_F(PilotScheduler, ATaskSubmittedAgainEndsUnderItsNewestHandle) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a");
  const run::TaskHandle again{1, 0};
  ex->start(kA, echo, a, p);
  ex->start(again, echo, a, p);
  ex->flush();
  s.pump();
  const auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);  // sent once
  report(worker, sent[0].handle, "a");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<run::TaskHandle>{again});
  const auto st = ex->poll(again, echo, a, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.details, (Json{{"from", "a"}}));
}

// A driver's starts reach the scheduler together, at its flush() after the
// batch (one lock of the scheduler per batch, not one per task): none is
// placed before it, and a start cancelled or released before it never
// reaches a worker, while the others of the batch do.
TEST_F(PilotScheduler, StartsReachTheSchedulerAtTheBatchsFlush) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a"), b = request("b"), c = request("c");
  const run::TaskHandle ha{0, 0}, hb{1, 0}, hc{2, 0};
  EXPECT_FALSE(ex->start(ha, echo, a, p).done());
  EXPECT_FALSE(ex->start(hb, echo, b, p).done());
  EXPECT_FALSE(ex->start(hc, echo, c, p).done());
  s.pump();
  EXPECT_TRUE(sent_to(worker).empty());  // nothing submitted yet
  EXPECT_EQ(s.status()["tasks"]["queued"], 0);
  EXPECT_FALSE(ex->poll(ha, echo, a, p).done());
  ex->cancel(hb, echo, b, p);
  ex->release(hc, echo, c, p);
  ex->flush();
  s.pump();
  const auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);  // b and c never left the executor
  EXPECT_EQ(sent[0].request.action_id, "a");
  EXPECT_EQ(s.status()["tasks"]["running"], 1);
  EXPECT_FALSE(ex->poll(hb, echo, b, p).done());
  EXPECT_FALSE(ex->poll(hc, echo, c, p).done());
}

}  // namespace
}  // namespace beamflow::pilot
