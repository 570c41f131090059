// beamflow approve / reject: decide a run's pending `approve` action.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "actions/approval.hpp"
#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow::cli {
namespace {

// Who decides when --by is not given: the login name of the user running
// the command.
std::string login_name() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  for (const char* var : {"USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v && *v) return v;
  }
  return "uid:" + std::to_string(::geteuid());
}

// --input JSON, then each --set KEY=VALUE (VALUE parsed as JSON when it is
// JSON: 66.5 a number, true a boolean; else the text as a string).
Json corrections_of(const po::variables_map& vm) {
  Json c = Json::object();
  if (vm.count("input")) {
    c = parse_json(vm["input"].as<std::string>(), "--input");
    if (!c.is_object()) throw Error("cli.usage", states_error::Runtime, "--input must be a JSON object of values");
  }
  if (vm.count("set")) {
    for (const auto& kv : vm["set"].as<std::vector<std::string>>()) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw Error("cli.usage", states_error::Runtime, "--set takes KEY=VALUE, got '" + kv + "'");
      const std::string text = kv.substr(eq + 1);
      c[kv.substr(0, eq)] = try_parse_json(text).value_or(Json(text));
    }
  }
  return c;
}

int decide(const Output& out, bool approve, const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run waiting for a decision")(
      "action", po::value<std::string>(),
      "ACTION_ID of the request to decide (needed when several are pending)")(
      "by", po::value<std::string>(), "who decides (default: your login name)");
  if (approve) {
    o.add_options()("comment", po::value<std::string>()->default_value(""), "a note kept with the approval")(
        "set", po::value<std::vector<std::string>>()->composing(),
        "KEY=VALUE: correct a value the request proposes (e.g. centre=66.5; VALUE is JSON, else a string); "
        "repeatable")("input", po::value<std::string>(),
                      "a JSON object of corrected values (e.g. '{\"centre\": 66.5}'); --set applies after it");
  } else {
    o.add_options()("reason", po::value<std::string>()->required(), "why the request is rejected (required)");
  }
  o.add_options()("json", "print {run_id, action_id, state, approved, by} as one JSON object");
  add_runs_dir_option(o);
  po::positional_options_description positional;
  positional.add("run-id", 1);
  po::variables_map vm;
  const std::string synopsis = approve
      ? "RUN_ID [--action ACTION_ID] [--by NAME] [--comment TEXT] [--set KEY=VALUE]... [--input JSON] "
        "[--runs-dir DIR]"
      : "RUN_ID --reason TEXT [--action ACTION_ID] [--by NAME] [--runs-dir DIR]";
  if (!out.parse(synopsis, o, positional, args, vm)) return kExitOk;

  const std::string run_id = vm["run-id"].as<std::string>();
  const auto root = run::runs_root(runs_dir_option(vm));
  if (!run::summarize_run(root, run_id)) {
    throw Error("run.not_found", states_error::Runtime, "no such run",
                {{"run_id", run_id}, {"runs_dir", root.string()}});
  }
  const auto run_dir = run::run_dir(root, run_id);

  std::string action_id, state;
  if (vm.count("action")) {
    action_id = vm["action"].as<std::string>();
  } else {
    const auto pending = actions::only_pending(run_dir);  // approve.none_pending, approve.ambiguous
    action_id = pending.action_id;
    state = pending.state_name;
  }
  const std::string by = vm.count("by") ? vm["by"].as<std::string>() : login_name();
  const Json corrections = approve ? corrections_of(vm) : Json::object();
  actions::decide(run_dir, action_id, approve, by, vm[approve ? "comment" : "reason"].as<std::string>(),
                  corrections);

  Json doc{{"run_id", run_id}, {"action_id", action_id}, {"state", state}, {"approved", approve}, {"by", by}};
  if (!corrections.empty()) doc["corrections"] = corrections;
  out.result(doc, [&](std::ostream& o) {
    o << (approve ? "approved " : "rejected ") << action_id << (state.empty() ? "" : " (state " + state + ")")
      << " of run " << run_id << " as " << by;
    for (auto it = corrections.begin(); it != corrections.end(); ++it) o << ", " << it.key() << " = " << it.value().dump();
    o << "\n";
  });
  return kExitOk;
}

// Errors reach main, which reports them in the same form.
int decide_main(bool approve, const std::vector<std::string>& args) {
  return decide(Output(approve ? "approve" : "reject", args), approve, args);
}

const Registrar approve_registrar{{"approve", "approve a run's pending approval request",
                                   [](const std::vector<std::string>& args) { return decide_main(true, args); }}};
const Registrar reject_registrar{{"reject", "reject a run's pending approval request (with a reason)",
                                  [](const std::vector<std::string>& args) { return decide_main(false, args); }}};

}  // namespace
}  // namespace beamflow::cli
