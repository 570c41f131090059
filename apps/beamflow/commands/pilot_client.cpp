// beamflow submit / status / wait / cancel: the clients of a pilot directory
// (engine/pilot/intake.hpp, client.hpp). They work whether a pilot runs or
// not: submissions wait in D/inbox, cancel requests in D/cancel.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "lang/definition.hpp"
#include "pilot/client.hpp"
#include "pilot/intake.hpp"

namespace beamflow::cli {
namespace {

namespace stdfs = std::filesystem;

void add_pilot_dir(po::options_description& o) {
  o.add_options()("pilot", po::value<std::string>()->required(), "the pilot directory")(
      "json", "print one JSON object on stdout");
}

stdfs::path pilot_dir(const po::variables_map& vm) {
  return stdfs::absolute(vm["pilot"].as<std::string>()).lexically_normal();
}

int submit_main(const std::vector<std::string>& args) {
  const Output out("submit", args);
  po::options_description o("Options");
  o.add_options()("flow", po::value<std::string>()->required(), "flow definition (ASL JSON)")(
      "input,i", po::value<std::string>(), "run input JSON file ('-' for stdin; default {})")(
      "id", po::value<std::string>(), "submission id: the same id submitted again returns the same run");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("flow", 1);
  po::variables_map vm;
  if (!out.parse("FLOW.json [--input IN.json] --pilot D [--id SUBMISSION_ID] [--json]", o, pos, args, vm))
    return kExitOk;
  const Json definition = load_json_file(vm["flow"].as<std::string>(), "flow definition");
  const Json input = vm.count("input") ? load_json_file(vm["input"].as<std::string>(), "input") : Json::object();
  // Refused here, with the problems listed, rather than failing in the pilot.
  lang::compile_or_throw(definition, [](const std::string& r) { return action_registry().resolve(r) != nullptr; });
  const auto r = pilot::submit(pilot_dir(vm), definition, input, vm.count("id") ? vm["id"].as<std::string>() : "");
  out.result({{"run_id", r.run_id}, {"existed", r.existed}},
             [&](std::ostream& os) { os << r.run_id << (r.existed ? " (submitted before)" : "") << "\n"; });
  return kExitOk;
}

void print_run(std::ostream& os, const run::RunSummary& s) {
  os << s.run_id << "  " << s.status;
  if (!s.error.is_null() && s.error.is_object()) os << "  " << s.error.value("error", "") << ": " << s.error.value("cause", "");
  os << "\n";
}

int status_main(const std::vector<std::string>& args) {
  const Output out("status", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>(), "one run of the pilot");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("--pilot D [RUN_ID] [--json]", o, pos, args, vm)) return kExitOk;
  if (vm.count("run-id")) {
    const auto s = pilot::find_run(pilot_dir(vm), vm["run-id"].as<std::string>());
    out.result(s.to_json(), [&](std::ostream& os) { print_run(os, s); });
    return kExitOk;
  }
  const Json st = pilot::pilot_status(pilot_dir(vm));
  out.result(st, [&](std::ostream& os) {
    os << "pilot " << st["dir"].get<std::string>() << ": " << (st["alive"].get<bool>() ? "running" : "not running")
       << "\nruns:";
    for (const auto& [k, v] : st["runs"].items()) os << " " << k << " " << v;
    os << "\nqueued submissions: " << st["queued"] << "\n";
    const Json& p = st["pilot"];
    if (p.is_object()) {
      os << "tasks: queued " << p["tasks"]["queued"] << ", running " << p["tasks"]["running"] << ", done "
         << p["tasks"]["done"] << "\n";
      for (const auto& n : st["nodes"]) {
        os << "node " << n["host"].get<std::string>() << ": " << n["ranks"].size() << " ranks, " << n["busy"]
           << " busy" << (n["lost"].get<int>() ? ", " + n["lost"].dump() + " lost" : "") << "\n";
        for (const auto& r : p["ranks"]) {
          if (r["host"] != n["host"]) continue;
          os << "  rank " << r["rank"] << (r["lost"].get<bool>() ? " lost" : r["busy"].get<bool>() ? " busy" : " idle")
             << ", busy " << r["busy_ms"] << " ms, utilisation "
             << static_cast<int>(r["utilisation"].get<double>() * 100.0 + 0.5) << "%, " << r["tasks_done"] << " tasks\n";
        }
      }
    }
  });
  return kExitOk;
}

int wait_main(const std::vector<std::string>& args) {
  const Output out("wait", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run to wait for")(
      "timeout", po::value<double>()->default_value(0), "give up after this many seconds (0: never)");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("RUN_ID --pilot D [--timeout S] [--json]", o, pos, args, vm)) return kExitOk;
  const std::string run_id = vm["run-id"].as<std::string>();
  const bool tty = ::isatty(STDERR_FILENO);
  const auto s = pilot::wait_for_run(
      pilot_dir(vm), run_id, std::chrono::milliseconds(static_cast<std::int64_t>(vm["timeout"].as<double>() * 1000.0)),
      [&](const run::RunSummary& now) {
        if (tty) out.progress(run_id + " " + now.status);
      });
  if (!s)
    throw Error("pilot.wait.timeout", states_error::Timeout, "run '" + run_id + "' had not ended in time",
                {{"run_id", run_id}});
  out.result(s->to_json(), [&](std::ostream& os) { print_run(os, *s); });
  return s->status == "SUCCEEDED" ? kExitOk : kExitFailed;
}

int cancel_main(const std::vector<std::string>& args) {
  const Output out("cancel", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run to cancel");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("RUN_ID --pilot D [--json]", o, pos, args, vm)) return kExitOk;
  const std::string run_id = vm["run-id"].as<std::string>();
  pilot::request_cancel(pilot_dir(vm), run_id);
  out.result({{"run_id", run_id}, {"cancel_requested", true}},
             [&](std::ostream& os) { os << "cancel of " << run_id << " requested\n"; });
  return kExitOk;
}

const Registrar submit_cmd{{"submit", "hand a flow to a pilot directory; prints the run id at once", submit_main}};
const Registrar status_cmd{{"status", "a pilot's runs by state, queue and ranks (or one run's status)", status_main}};
const Registrar wait_cmd{{"wait", "wait for a pilot's run to end (exit 0 when it SUCCEEDED)", wait_main}};
const Registrar cancel_cmd{{"cancel", "ask a pilot to cancel one of its runs", cancel_main}};

}  // namespace
}  // namespace beamflow::cli
