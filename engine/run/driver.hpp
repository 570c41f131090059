#pragma once
// The driver of one run: the loop of decide (the pure interpreter) -> make
// durable (the journal) -> act (start, poll, cancel actions; fire timers) ->
// wait. See docs/architecture.md.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "actions/action.hpp"
#include "journal/journal.hpp"
#include "run/engine.hpp"
#include "run/interpreter.hpp"
#include "run/run_state.hpp"
#include "run/run_store.hpp"

namespace beamflow::run {

// The result a finished (or recorded) run state stands for.
RunResult result_of(const RunState& s);

// Drives one run: the loop of decide → make durable → act → wait.
class Driver {
 public:
  Driver(const actions::ActionRegistry& registry, RunDirectory& dir, RunState& state, journal::Writer& writer,
         const RunOptions& options);

  Interpreter& interpreter() { return m_interp; }

  // After a replay: re-attach every action that was in flight.
  void reattach();
  RunResult run();
  void commit_and_act();

 private:
  void act(const Event& e);
  actions::ActionRequest request_for(const Frame& f) const;
  void launch(const std::string& frame_id, bool reattach);
  // An action the engine is waiting on.
  struct Active {
    actions::Action* action = nullptr;
    actions::ActionRequest request;
    std::int64_t next_poll_ms = 0;
    std::int64_t last_sign_of_life_ms = 0;
  };

  void cancel(Active& a);
  void cancel_subtree(const std::string& frame_id);
  void drain_results();
  void fire_due_timers();
  void check_deadlines();
  void wait_for_events();

  const actions::ActionRegistry& m_registry;
  RunDirectory& m_dir;
  RunState& m_state;
  journal::Writer& m_writer;
  const RunOptions& m_options;
  std::mt19937_64 m_rng;
  std::vector<Event> m_outbox;
  Interpreter m_interp;
  std::map<std::string, Active> m_active;
  std::vector<std::pair<std::string, actions::ActionState>> m_results;
};

}  // namespace beamflow::run
