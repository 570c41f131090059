#pragma once
// Where beamflow keeps its state. BEAMFLOW_HOME (default ./.beamflow) holds
// runs/ and models/; --runs-dir overrides the runs root for one command.
//   runs/RUN_ID/journal          the transition journal (engine/journal); its
//                                first record (RunStarted) holds the flow, as
//                                submitted, and the run input (layout 2,
//                                run_store.hpp)
//   runs/RUN_ID/definition.json  layout 1 only (runs made before layout 2):
//   runs/RUN_ID/input.json       the flow and the input as files
//   runs/RUN_ID/lock             flock held by the process driving the run
//   runs/RUN_ID/actions/ACTION_ID/  per-action durable state; actions/ is
//                                made at the run's first action that keeps
//                                state (a run of only instant in-process
//                                actions, such as echo, has none)
//   runs/RUN_ID/status.json      the summary `beamflow runs` reads (run_store.hpp):
//                                written when the run starts and when it ends;
//                                a pilot's runs write none unless their journal
//                                is longer than kSummaryHeadBytes at their end
//                                (RunOptions::status_at_end): their summary is
//                                the journal's RunStarted and RunEnded
//   runs/RUN_ID/log              a pilot run's log (pilot/run_log.hpp)
#include <filesystem>
#include <optional>
#include <string>

namespace beamflow::run {

std::filesystem::path beamflow_home();
// The runs root: `override_dir` when given, else $BEAMFLOW_HOME/runs.
// Throws Error "run.home_shared" when the home or the runs directory exists
// and other users can write to it. Everything beamflow creates there is
// owner-only (0700 directories, 0600 files) whatever the umask.
std::filesystem::path runs_root(const std::optional<std::string>& override_dir = std::nullopt);
// runs_root/run_id, after checking run_id is a plain name (no '/', no "..").
// Throws Error "run.bad_id".
std::filesystem::path run_dir(const std::filesystem::path& root, const std::string& run_id);
inline std::filesystem::path action_dir(const std::filesystem::path& run_dir,
                                        const std::string& action_id) {
  return run_dir / "actions" / action_id;
}

}  // namespace beamflow::run
