#pragma once
// The ASL interpreter: decides, for a frame whose work is due, which records
// to emit. Pure with respect to I/O: it reads the RunState, and every decision
// leaves as a record applied to the state and queued in the outbox. The
// engine makes the outbox durable before acting on it (starting actions,
// cancelling them, arming timers); tests can drive it with no journal at all.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actions/action.hpp"
#include "run/run_state.hpp"

namespace beamflow::run {

// Room for `more` events beyond those `outbox` holds, made at once (and at
// least doubling) where the count is known: an outbox grown by push_back
// moved every event (472 bytes) at each doubling, a measured share of a
// pilot's no-op task at a Map's rate (batches past Driver::kSpareEvents
// start from no storage).
inline void make_room(std::vector<Event>& outbox, std::size_t more) {
  const std::size_t need = outbox.size() + more;
  if (need > outbox.capacity()) outbox.reserve(std::max(need, 2 * outbox.capacity()));
}

struct InterpreterEnv {
  std::function<std::int64_t()> now_ms;
  std::function<double()> random01;  // [0,1), for FULL jitter
  std::size_t max_payload_bytes = 16u << 20;
};

// Error names of Globus Flows' Action state.
namespace globus_error {
inline constexpr const char* ActionFailed = "ActionFailedException";
inline constexpr const char* ActionTimeout = "ActionTimeout";
inline constexpr const char* ActionUnableToRun = "ActionUnableToRun";
}  // namespace globus_error

class Interpreter {
 public:
  Interpreter(RunState& state, std::vector<Event>& outbox, InterpreterEnv env);

  // Emits RunStarted (carrying the definition: layout kRunDirLayout) and the
  // root frame's first StateEntered.
  void start(const RunInfo& info, const Json& definition, const std::string& definition_sha256);
  // Acts on a frame returned by RunState::take_ready().
  void step(const std::string& frame_id);
  // A Wait or Retry timer of this frame is due.
  void fire_timer(const std::string& frame_id);
  // The action of this frame finished (Succeeded or Failed).
  void task_finished(const std::string& frame_id, const actions::ActionState& result);
  // The action of this frame ran out of time (TimeoutSeconds, HeartbeatSeconds, WaitTime).
  void task_timed_out(const std::string& frame_id, const std::string& error, const std::string& cause);
  // Ends the run with an error (the flow's own TimeoutSeconds).
  void fail_run(const FlowError& error);

  // Derives an action id from (run id, frame, state, visit, attempt).
  static std::string action_id(const std::string& run_id, const Frame& f);

 private:
  enum class Origin { State, Task, Branch };
  void emit(RecordType type, Json body);
  // Applies and queues a record; the hot path's are typed (record.hpp
  // TaskRecord, EntryRecord, EndRecord): no Json object around them.
  void emit(Event e);
  TaskRecord succeeded(const std::string& frame_id, const std::string& action_id, Json out, bool sel);
  Json& context(const Frame& f);
  void enter_state(Frame& f);
  void enter_task(Frame& f, const lang::State& s, const Json& state_input, const Json& effective);
  void enter_wait(Frame& f, const lang::State& s, const Json& effective);
  void enter_children(Frame& f, const lang::State& s, const Json& effective);
  void start_map_items(Frame& f);
  void complete_task(Frame& f);
  void check_children(Frame& f);
  void finish_state(Frame& f, const Json& result, bool apply_selector = true);
  void transition(Frame& f, const std::string& next, Json output, const FlowError* caught = nullptr);
  void end_frame_ok(Frame& f, Json output);
  void end_frame_failed(Frame& f, const FlowError& error);
  void handle_error(Frame& f, const FlowError& error, Origin origin);
  void check_size(const Json& value, const Frame& f) const;
  Json effective_input(const Frame& f, const lang::State& s);

  RunState& m_state;
  std::vector<Event>& m_outbox;
  InterpreterEnv m_env;
  Json m_context;  // reused: only $$.State / $$.Task change between states
  // $$.Task while the context has none (a state that is not a Task): kept,
  // not freed, so the next task state puts it back without allocating.
  Json::object_t::node_type m_context_task;
  std::int64_t m_context_entered_ms = -1;
};

}  // namespace beamflow::run
