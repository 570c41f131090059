// The pilot's scheduler with its worker played by the test: a task travels
// under a handle, and an outcome whose handle names a slot since given to
// another task is refused, not taken for that task's.
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

TEST_F(PilotScheduler, AnOutcomeForASlotGivenToAnotherTaskIsRefused) {
  actions::Action& echo = *registry.resolve("echo");

  const auto a = request("a");
  EXPECT_FALSE(ex->start(echo, a, p).done());
  s.pump();
  auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  const wire::Handle old = sent[0].handle;
  EXPECT_EQ(sent[0].request.action_id, "a");
  report(worker, old, "a");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<std::string>{"a"});
  auto st = ex->poll(echo, a, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.action_id, "a");
  ex->release(echo, a, p);  // a's slot is free

  const auto b = request("b");
  EXPECT_FALSE(ex->start(echo, b, p).done());
  s.pump();
  sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].handle & 0xffff'ffffu, old & 0xffff'ffffu);  // a's slot...
  EXPECT_NE(sent[0].handle, old);                                 // ...in a later generation
  // a's outcome once more (a worker's late report): b is still running.
  report(worker, old, "a");
  s.pump();
  EXPECT_TRUE(ex->take_progressed().empty());
  EXPECT_FALSE(ex->poll(echo, b, p).done());
  EXPECT_EQ(s.status()["tasks"]["running"], 1);
  // b's own outcome is taken.
  report(worker, sent[0].handle, "b");
  s.pump();
  EXPECT_EQ(ex->take_progressed(), std::vector<std::string>{"b"});
  st = ex->poll(echo, b, p);
  ASSERT_TRUE(st.done());
  EXPECT_EQ(st.action_id, "b");
  EXPECT_EQ(st.details, (Json{{"from", "b"}}));
  // a was forgotten whole: its id starts afresh, not as the task that ended.
  EXPECT_FALSE(ex->start(echo, a, p).done());
}

TEST_F(PilotScheduler, AnOutcomeForAHandleNeverGivenOutIsRefused) {
  actions::Action& echo = *registry.resolve("echo");
  const auto a = request("a");
  ex->start(echo, a, p);
  s.pump();
  const auto sent = sent_to(worker);
  ASSERT_EQ(sent.size(), 1u);
  report(worker, sent[0].handle + 1, "x");              // a slot never used
  report(worker, sent[0].handle + (1ull << 32), "y");  // a's slot, a generation not yet reached
  s.pump();
  EXPECT_TRUE(ex->take_progressed().empty());
  EXPECT_FALSE(ex->poll(echo, a, p).done());
}

}  // namespace
}  // namespace beamflow::pilot
