// The pilot's binary task and outcome batches: everything a task and its
// outcome carry comes back as sent, and a damaged message is a typed error
// (pilot.wire), never a crash or an absurd allocation.
#include "pilot/wire.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace beamflow::pilot::wire {
namespace {

actions::ActionRequest request(int i) {
  actions::ActionRequest r;
  r.action_id = "a" + std::to_string(i);
  r.input = {{"item", i}, {"text", "é\n\"x\""}, {"list", {1, 2.5, nullptr, true}}};
  r.run_id = "run-1";
  r.state_name = "E";
  r.attempt = i % 3;
  r.state_dir = "/p/runs/run-1/actions/a" + std::to_string(i);
  r.run_dir = "/p/runs/run-1";
  r.work_dir = "/home/u";
  return r;
}

TEST(PilotWire, ATaskBatchCarriesEveryFieldOfEveryTask) {
  TaskBatch batch;
  EXPECT_TRUE(batch.empty());
  actions::Placement heavy;
  heavy.ranks = 4;
  heavy.own_process = true;
  heavy.no_outcome = {"recon.crashed", "States.TaskFailed", "reconstruct"};
  heavy.nodes = "spread";
  heavy.hosts = {"node1", "node2"};
  batch.add(7, "echo", request(0), actions::Placement{});
  batch.add(0xfffffffe00000008u, "reconstruct", request(1), heavy);
  EXPECT_FALSE(batch.empty());
  const std::string bytes = batch.take();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(kind_of(bytes), Kind::Tasks);
  const auto tasks = decode_tasks(bytes);
  ASSERT_EQ(tasks.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Task& t = tasks[static_cast<std::size_t>(i)];
    const auto want = request(i);
    EXPECT_EQ(t.handle, i == 0 ? 7u : 0xfffffffe00000008u);
    EXPECT_EQ(t.request.action_id, want.action_id);
    EXPECT_EQ(t.request.input, want.input);
    EXPECT_EQ(t.request.run_id, want.run_id);
    EXPECT_EQ(t.request.state_name, want.state_name);
    EXPECT_EQ(t.request.attempt, want.attempt);
    EXPECT_EQ(t.request.state_dir, want.state_dir);
    EXPECT_EQ(t.request.run_dir, want.run_dir);
    EXPECT_EQ(t.request.work_dir, want.work_dir);
  }
  EXPECT_EQ(tasks[0].action, "echo");
  EXPECT_EQ(tasks[0].placement.ranks, 1);
  EXPECT_FALSE(tasks[0].placement.own_process);
  EXPECT_TRUE(tasks[0].placement.hosts.empty());
  EXPECT_EQ(tasks[1].action, "reconstruct");
  EXPECT_EQ(tasks[1].placement.ranks, 4);
  EXPECT_TRUE(tasks[1].placement.own_process);
  EXPECT_EQ(tasks[1].placement.no_outcome.id, "recon.crashed");
  EXPECT_EQ(tasks[1].placement.no_outcome.error, "States.TaskFailed");
  EXPECT_EQ(tasks[1].placement.no_outcome.what, "reconstruct");
  EXPECT_EQ(tasks[1].placement.nodes, "spread");
  EXPECT_EQ(tasks[1].placement.hosts, (std::vector<std::string>{"node1", "node2"}));
  // The batch is empty again and starts over.
  batch.add(2, "echo", request(2), actions::Placement{});
  EXPECT_EQ(decode_tasks(batch.take()).size(), 1u);
}

TEST(PilotWire, AnOutcomeBatchCarriesStatusDetailsAndError) {
  DoneBatch batch;
  batch.add(5, actions::ActionState::succeeded("ignored", Json{{"x", 1}, {"y", "two"}}));
  batch.add(0x100000006u, actions::ActionState::failed("ignored", "States.TaskFailed", "it broke"));
  const std::string bytes = batch.take();
  EXPECT_EQ(kind_of(bytes), Kind::Done);
  const auto done = decode_done(bytes);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].handle, 5u);
  EXPECT_EQ(done[0].state.action_id, "");  // not sent: the handle names the task
  EXPECT_EQ(done[0].state.status, actions::ActionStatus::Succeeded);
  EXPECT_EQ(done[0].state.details, (Json{{"x", 1}, {"y", "two"}}));
  EXPECT_EQ(done[1].handle, 0x100000006u);
  EXPECT_EQ(done[1].state.status, actions::ActionStatus::Failed);
  EXPECT_EQ(done[1].state.error, "States.TaskFailed");
  EXPECT_EQ(done[1].state.cause, "it broke");
}

TEST(PilotWire, JsonMessagesAreToldApartFromBatches) {
  EXPECT_EQ(kind_of(R"({"t":"beat"})"), Kind::Json);
  EXPECT_EQ(parse(R"({"t":"stop"})").at("t"), "stop");
  try {
    parse("[1]");
    FAIL() << "not an object";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "pilot.wire");
  }
}

TEST(PilotWire, EveryCutOrTrailingByteIsATypedError) {
  TaskBatch tasks;
  tasks.add(1, "echo", request(0), actions::Placement{});
  const std::string t = tasks.take();
  DoneBatch done;
  done.add(1, actions::ActionState::succeeded("a0", Json{{"x", 1}}));
  const std::string d = done.take();
  auto expect_wire_error = [](auto decode, const std::string& bytes) {
    try {
      decode(bytes);
      ADD_FAILURE() << "decoded " << bytes.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.id(), "pilot.wire");
    }
  };
  for (std::size_t n = 1; n < t.size(); ++n) expect_wire_error(decode_tasks, t.substr(0, n));
  for (std::size_t n = 1; n < d.size(); ++n) expect_wire_error(decode_done, d.substr(0, n));
  expect_wire_error(decode_tasks, t + "x");
  expect_wire_error(decode_done, d + "x");
  expect_wire_error(decode_done, t);  // the wrong kind
  // A count of 2^32-1 tasks in a short message reserves nothing.
  expect_wire_error(decode_tasks, std::string("\x01\xff\xff\xff\xff", 5));
}

}  // namespace
}  // namespace beamflow::pilot::wire
