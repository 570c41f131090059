#pragma once
// The messages between the coordinator and its workers.
//
// The hot path, tasks and their outcomes, travels in batches of a compact
// binary form (one message carries every task placed on a rank in one
// round, or every outcome a worker reached in one turn):
//   coordinator -> worker  TaskBatch: kTasks, then per task: handle, action,
//                          the request (action id, input as CBOR, run id,
//                          state name, attempt, state_dir, run_dir,
//                          work_dir: the pilot's workers share the pilot
//                          directory's file system) and the placement
//   worker -> coordinator  DoneBatch: kDone, then per task: handle, status,
//                          details as CBOR, error, cause
// Strings are a u32 length and the bytes, integers little-endian. The rest
// are small JSON objects:
//   coordinator -> worker  {"t":"cancel","h"}     {"t":"stop"}
//   worker -> coordinator  {"t":"hello","host"}   {"t":"beat"} (every second)
//                          {"t":"bye"}            (after a stop)
// A task's handle is the coordinator's: the worker keeps it and sends it
// back with the outcome, and reads nothing in it (the action id travels in
// the request). It names the task's slot in the scheduler and that slot's
// generation, so an outcome that comes back after its slot was given to
// another task is refused, not taken for the other task's.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actions/action.hpp"
#include "core/json.hpp"

namespace beamflow::pilot::wire {

// The first byte of a message says its form ('{' for JSON).
enum class Kind { Json, Tasks, Done };
Kind kind_of(std::string_view bytes) noexcept;

using Handle = std::uint64_t;

struct Task {
  Handle handle = 0;
  std::string action;
  actions::ActionRequest request;
  actions::Placement placement;
};

struct Done {
  Handle handle = 0;
  actions::ActionState state;  // status, details, error, cause
};

// A request's fields as a batch carries them, borrowed: the scheduler keeps
// what a run's tasks share (run id and directories) once per run rather than
// a whole ActionRequest, three parsed paths included, per task.
struct RequestView {
  std::string_view action_id;
  const Json& input;
  std::string_view run_id;
  std::string_view state_name;
  int attempt = 0;
  std::string_view state_dir;
  std::string_view run_dir;
  std::string_view work_dir;
};
RequestView view_of(const actions::ActionRequest& r) noexcept;

// Tasks for one rank, appended one by one; take() is the message.
class TaskBatch {
 public:
  void add(Handle h, const std::string& action, const RequestView& r, const actions::Placement& p);
  void add(Handle h, const std::string& action, const actions::ActionRequest& r, const actions::Placement& p) {
    add(h, action, view_of(r), p);
  }
  bool empty() const noexcept { return m_count == 0; }
  std::string take();

 private:
  std::string m_bytes;
  std::uint32_t m_count = 0;
};

// Outcomes, appended one by one; take() is the message.
class DoneBatch {
 public:
  // `s.action_id` is not sent: the coordinator knows it by the handle.
  void add(Handle h, const actions::ActionState& s);
  bool empty() const noexcept { return m_count == 0; }
  std::string take();

 private:
  std::string m_bytes;
  std::uint32_t m_count = 0;
};

// Decode a batch; throw pilot.wire on anything short, long or malformed.
std::vector<Task> decode_tasks(std::string_view bytes);
std::vector<Done> decode_done(std::string_view bytes);

// Parses a JSON message; throws pilot.wire on anything that is not a JSON
// object with a string "t".
Json parse(const std::string& bytes);

}  // namespace beamflow::pilot::wire
