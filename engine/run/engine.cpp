#include "run/engine.hpp"

#include "core/hash.hpp"
#include "core/time.hpp"
#include "lang/definition.hpp"
#include "platform/storage_failure.hpp"
#include "run/driver.hpp"
#include "run/run_store.hpp"

namespace beamflow::run {
namespace {

lang::ResourceCheck resource_check(const actions::ActionRegistry& registry) {
  return [&registry](const std::string& r) { return registry.resolve(r) != nullptr; };
}

Json status_json(const RunState& s, const std::string& status) {
  Json j = {{"run_id", s.info().run_id}, {"status", status}, {"flow", s.info().flow},
            {"started", format_time_ms(s.info().started_ms)}};
  if (!s.info().submission_id.empty()) j["submission_id"] = s.info().submission_id;
  if (s.ended()) {
    j["ended"] = format_time_ms(s.ended_ms());
    if (!s.succeeded()) j["error"] = {{"error", s.error().error}, {"cause", s.error().cause}};
  }
  return j;
}

// Records the start of a run (RunStarted, the first state and what stepping
// it decided: Driver::commit_start) and makes it durable, not yet acted on
// (Driver::act_on_start): the same for a fresh run and for one killed before
// its first commit.
void begin_run(Driver& driver, const RunOptions& options, const std::string& run_id, const Json& definition,
               const Json& input) {
  RunInfo info;
  info.run_id = run_id;
  info.name = options.name.value_or(run_id);
  info.flow = options.flow_file;
  info.submission_id = options.submission_id;
  info.work_dir = (options.work_dir.empty() ? std::filesystem::current_path() : options.work_dir).string();
  info.input = input;
  driver.interpreter().start(info, definition, sha256_hex(definition.dump()));
  driver.commit_start();
}

// The journal's run must have started from this very definition: a
// definition.json edited after the start would replay one history against
// another flow.
void check_recorded_start(const Event& started, const std::string& run_id, const Json& definition) {
  const std::string recorded = started.body.value("definition_sha256", std::string());
  const std::string now = sha256_hex(definition.dump());
  if (!recorded.empty() && recorded != now)
    throw Error("run.definition_changed", states_error::Runtime,
                "definition.json was changed after the run started (sha256 " + recorded.substr(0, 12) +
                    "... recorded, " + now.substr(0, 12) +
                    "... now); refusing to resume the run with another flow: restore the definition, or start a "
                    "new run",
                {{"run_id", run_id}});
}

RunResult finish(RunDirectory& dir, const RunState& state, const RunResult& r, bool write_status = true) {
  if (write_status) dir.write_status(status_json(state, to_string(r.status)));
  return r;
}

// Runs `drive`; a failure of the storage beamflow keeps its own state on
// (the journal, status.json, an action's state files) stops the run
// INTERRUPTED, resumable, instead of failing it: it is not the flow's fault.
template <class F>
RunResult interrupt_on_storage_failure(const std::string& run_id, F&& drive) {
  try {
    return drive();
  } catch (const std::exception& e) {
    if (!fs::is_storage_failure(e)) throw;
    const auto* error = dynamic_cast<const Error*>(&e);
    Error stopped("run.interrupted", states_error::Runtime,
                  "run " + run_id + " stopped, INTERRUPTED: beamflow cannot write its own state (" + e.what() +
                      "); nothing was recorded as failed. Free the space or repair the storage, then `beamflow resume " +
                      run_id + "`",
                  {{"run_id", run_id}});
    stopped.with_errno(error ? error->system_errno() : 0);
    throw stopped;
  }
}

}  // namespace

const char* to_string(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::Running: return "RUNNING";
    case RunStatus::Succeeded: return "SUCCEEDED";
    case RunStatus::Failed: return "FAILED";
  }
  return "?";
}

Json RunResult::to_json() const {
  Json j = {{"run_id", run_id}, {"status", to_string(status)}};
  if (status == RunStatus::Succeeded) j["output"] = output;
  else if (status == RunStatus::Failed) {
    j["error"] = error.error;
    j["cause"] = error.cause;
  }
  return j;
}

RunResult Engine::start(const Json& definition, const Json& input, const RunOptions& options) {
  auto machine = lang::compile_or_throw(definition, resource_check(m_actions));
  if (options.max_payload_bytes && input.dump().size() > options.max_payload_bytes)
    throw Error("run.input_too_large", states_error::DataLimitExceeded,
                "run input exceeds the payload limit of " + std::to_string(options.max_payload_bytes) + " bytes");
  const std::string run_id = options.run_id.value_or(new_run_id());
  NewRun created = RunDirectory::create(options.runs_root, run_id, options.durability,
                                        options.sync_group);
  RunDirectory& dir = created.dir;
  journal::Writer& writer = created.journal;

  RunState state(machine);
  Driver driver(m_actions, dir, state, writer, options);
  return interrupt_on_storage_failure(run_id, [&] {
    begin_run(driver, options, run_id, definition, input);
    if (options.status_at_start) dir.write_status(status_json(state, "RUNNING"));
    if (options.on_started) options.on_started();
    driver.act_on_start();
    const RunResult r = driver.run();
    return finish(dir, state, r,
                  options.status_at_start || options.status_at_end || writer.file_size() > kSummaryHeadBytes);
  });
}

RunResult Engine::resume(const std::string& run_id, const RunOptions& options) {
  RunDirectory dir = RunDirectory::open(options.runs_root, run_id);
  const Json definition = dir.definition();
  auto machine = lang::compile_or_throw(definition, resource_check(m_actions));
  History history = read_history(dir.journal_file());
  if (!history.events.empty()) check_recorded_start(history.events.front(), run_id, definition);
  RunState state(machine);
  std::size_t replayed = 0;
  try {
    for (; replayed < history.events.size(); ++replayed) state.apply(history.events[replayed]);
    if (!state.ended()) state.check_resumable();
  } catch (Error& e) {
    // Where in which file: the record that contradicts the run, or the
    // journal's end when the state it leaves cannot go on.
    e.with("run_id", run_id)
        .with("file", dir.journal_file().string())
        .with("offset", std::to_string(replayed < history.offsets.size() ? history.offsets[replayed] : history.end));
    throw;
  }
  if (options.observer && (history.torn_tail || history.skipped_records))
    options.observer({{"type", "JournalRepaired"},
                      {"torn_tail", history.torn_tail},
                      {"skipped_records", history.skipped_records}});
  // What was found is made durable before anything is acted on: a first
  // commit (or any) written by a process killed before its sync may be only
  // in the page cache, and a machine crash after this resume acted on it
  // could lose the run (its journal, its directory's name) although its work
  // was done. One group flush, or three syncs (journal, run directory, runs
  // root), once per resume.
  journal::WriterOptions jo;
  jo.group = options.sync_group;
  jo.sync_found = true;
  jo.create_sync_parent = dir.path().parent_path();
  journal::Writer writer = std::filesystem::exists(dir.journal_file())
                               ? journal::Writer::open_append(dir.journal_file(), options.durability, jo)
                               : journal::Writer::create(dir.journal_file(), options.durability, jo);
  Driver driver(m_actions, dir, state, writer, options);
  return interrupt_on_storage_failure(run_id, [&] {
    // Killed before the first commit: nothing happened yet, start afresh.
    if (history.events.empty()) {
      begin_run(driver, options, run_id, definition, dir.input());
      if (options.on_started) options.on_started();
      dir.write_status(status_json(state, "RUNNING"));
      driver.act_on_start();
      return finish(dir, state, driver.run());
    }
    if (options.on_started) options.on_started();
    if (state.ended()) return finish(dir, state, result_of(state));
    state.requeue_all();
    driver.reattach();
    dir.write_status(status_json(state, "RUNNING"));
    return finish(dir, state, driver.run());
  });
}

}  // namespace beamflow::run
