// beamflow run / resume: drive a flow to completion, durably.
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "lang/definition.hpp"
#include "run/engine.hpp"
#include "run/paths.hpp"

namespace beamflow::cli {
namespace {

void add_drive_options(po::options_description& o) {
  add_runs_dir_option(o);
  o.add_options()
      ("json", "print exactly one JSON object on stdout: {run_id, status, output} or {run_id, status, error, cause}")
      ("verbose,v", "print each history event on stderr as it is recorded")
      ("no-fsync", "do not fsync the journal (faster; a machine crash may lose the last transitions)")
      ("max-payload-bytes", po::value<std::size_t>()->default_value(16u << 20),
       "largest state input/output, in bytes; larger fails with States.DataLimitExceeded");
}

run::RunOptions drive_options(const po::variables_map& vm) {
  run::RunOptions o;
  o.runs_root = run::runs_root(runs_dir_option(vm));
  o.durability = vm.count("no-fsync") ? journal::Durability::None : journal::Durability::Fsync;
  o.max_payload_bytes = vm["max-payload-bytes"].as<std::size_t>();
  o.work_dir = std::filesystem::current_path();
  if (vm.count("verbose"))
    o.observer = [](const Json& e) { std::cerr << format_time_ms(now_ms()) << " " << e.dump() << "\n"; };
  return o;
}

int report(const run::RunResult& r, bool json) {
  if (json) {
    std::cout << r.to_json().dump() << std::endl;
  } else if (r.status == run::RunStatus::Succeeded) {
    std::cerr << "run " << r.run_id << " SUCCEEDED\n";
    std::cout << r.output.dump(2) << std::endl;
  } else {
    std::cerr << "run " << r.run_id << " FAILED\n";
    std::cout << "error: " << r.error.error << "\ncause: " << r.error.cause << std::endl;
  }
  return r.status == run::RunStatus::Succeeded ? kExitOk : kExitFailed;
}

// Problems found before a run exists (unreadable files, invalid definition).
int report_invalid(const Json& errors, bool json) {
  if (json) {
    std::cout << Json{{"status", "INVALID"}, {"errors", errors}}.dump() << std::endl;
  } else {
    std::cerr << "invalid:\n";
    for (const auto& e : errors) {
      std::cerr << "  " << e.value("pointer", "") << (e.value("state", "").empty() ? "" : " (" + e.value("state", "") + ")")
                << ": " << e.value("message", "") << "\n";
    }
  }
  return kExitUsage;
}

Json error_entry(const Error& e) {
  Json j = {{"pointer", ""}, {"state", ""}, {"message", e.what()}, {"id", e.id()}};
  return j;
}

// Errors that stop the engine itself (a locked run, an I/O failure).
int report_error(const Error& e, bool json) {
  if (json) std::cout << Json{{"status", "ERROR"}, {"error", e.id()}, {"cause", e.what()}}.dump() << std::endl;
  else std::cerr << "beamflow: " << e.what() << "\n";
  return kExitFailed;
}

int run_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()
      ("flow", po::value<std::string>()->required(), "flow definition (ASL JSON)")
      ("input,i", po::value<std::string>(), "run input JSON file ('-' for stdin; default {})")
      ("run-id", po::value<std::string>(), "run id to use (default: generated, time ordered)")
      ("name", po::value<std::string>(), "execution name ($$.Execution.Name; default: the run id)");
  add_drive_options(o);
  po::positional_options_description pos;
  pos.add("flow", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_options("run", "FLOW.json [--input INPUT.json] [--json]", o, pos, args, vm, code)) return code;
  const bool json = vm.count("json") > 0;
  const std::string flow = vm["flow"].as<std::string>();
  Json definition, input = Json::object();
  try {
    definition = load_json_file(flow, "flow definition");
    if (vm.count("input")) input = load_json_file(vm["input"].as<std::string>(), "input");
  } catch (const Error& e) {
    return report_invalid(Json::array({error_entry(e)}), json);
  }
  run::RunOptions opts = drive_options(vm);
  opts.flow_file = flow;
  if (vm.count("run-id")) opts.run_id = vm["run-id"].as<std::string>();
  if (vm.count("name")) opts.name = vm["name"].as<std::string>();
  run::Engine engine(action_registry());
  try {
    return report(engine.start(definition, input, opts), json);
  } catch (const lang::InvalidDefinition& e) {
    return report_invalid(e.problems_json(), json);
  } catch (const Error& e) {
    if (e.id() == "run.input_too_large" || e.id() == "run.bad_id") return report_invalid(Json::array({error_entry(e)}), json);
    return report_error(e, json);
  }
}

int resume_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run to continue");
  add_drive_options(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_options("resume", "RUN_ID [--json]", o, pos, args, vm, code)) return code;
  const bool json = vm.count("json") > 0;
  run::Engine engine(action_registry());
  try {
    return report(engine.resume(vm["run-id"].as<std::string>(), drive_options(vm)), json);
  } catch (const lang::InvalidDefinition& e) {
    return report_invalid(e.problems_json(), json);
  } catch (const Error& e) {
    return report_error(e, json);
  }
}

const Registrar run_cmd{{"run", "run a flow to completion, every transition journaled", run_main}};
const Registrar resume_cmd{{"resume", "continue a run whose process died, without re-running finished actions", resume_main}};

}  // namespace
}  // namespace beamflow::cli
