// beamflow run / resume: drive a flow to completion, durably.
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/mpi_channel.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "lang/definition.hpp"
#include "pilot/rank_pool.hpp"
#include "pilot/worker.hpp"
#include "platform/launcher.hpp"
#include "run/engine.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

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

int report(const Output& out, const run::RunResult& r) {
  const bool ok = r.status == run::RunStatus::Succeeded;
  if (!out.json()) std::cerr << "run " << r.run_id << (ok ? " SUCCEEDED\n" : " FAILED\n");
  out.result(r.to_json(), [&](std::ostream& o) {
    if (ok)
      o << r.output.dump(2) << std::endl;
    else
      o << "error: " << r.error.error << "\ncause: " << r.error.cause << std::endl;
  });
  return ok ? kExitOk : kExitFailed;
}

// Drives the run, and reports it. Under mpirun/srun with several ranks it is
// still one run: rank 0 drives it and its tasks run on ranks 1..N-1
// (pilot/rank_pool.hpp), which print nothing.
int drive_on_ranks(const Output& out, run::RunOptions& opts,
                   const std::function<run::RunResult(const run::RunOptions&)>& drive) {
  if (platform::launch_info().size <= 1) return report(out, drive(opts));
  parallel::Mailbox box;
  MpiChannel channel(box);
  if (box.rank() != 0) {
    pilot::run_worker(channel, action_registry(), host_name());
    box.close();
    return kExitOk;
  }
  if (!opts.run_id) opts.run_id = run::new_run_id();
  int rc = kExitOk;
  {
    pilot::RankPool pool(channel);  // its end stops the workers, also when drive() throws
    const std::string run_id = *opts.run_id;
    opts.executor = [&pool, run_id](fs::Wakeup& w) { return pool.executor(run_id, w); };
    rc = report(out, drive(opts));
  }
  box.close();
  return rc;
}

// The problems of an error that stops a run before it exists (unreadable
// files, an invalid definition, a bad run id): [{pointer, state, message[, id]}].
Json problems(const Error& e) {
  if (const auto* invalid = dynamic_cast<const lang::InvalidDefinition*>(&e)) return invalid->problems_json();
  return Json::array({{{"pointer", ""}, {"state", ""}, {"message", e.what()}, {"id", e.id()}}});
}

// run and resume report usage errors as {"status": "INVALID", "errors"}
// and errors that stop the engine itself (a locked run, an I/O failure) as
// {"status": "ERROR", "error", "cause"}.
Output::ErrorForm run_errors(const std::string& command) {
  return {[](const Error& e) {
            if (is_usage_error(e)) return Json{{"status", "INVALID"}, {"errors", problems(e)}};
            return Json{{"status", "ERROR"}, {"error", e.id()}, {"cause", e.what()}};
          },
          [command](std::ostream& o, const Error& e) {
            if (!is_usage_error(e) || e.id() == "cli.usage") {
              o << "beamflow" << (is_usage_error(e) ? " " + command : "") << ": " << e.what() << "\n";
              return;
            }
            o << "invalid:\n";
            for (const auto& p : problems(e)) {
              const std::string state = p.value("state", "");
              o << "  " << p.value("pointer", "") << (state.empty() ? "" : " (" + state + ")") << ": "
                << p.value("message", "") << "\n";
            }
          }};
}

int run_main(const std::vector<std::string>& args) {
  Output out("run", args);
  out.error_form(run_errors(out.command()));
  return out.run([&] {
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
    if (!out.parse("FLOW.json [--input INPUT.json] [--json]", o, pos, args, vm)) return kExitOk;
    const std::string flow = vm["flow"].as<std::string>();
    const Json definition = load_json_file(flow, "flow definition");
    const Json input = vm.count("input") ? load_json_file(vm["input"].as<std::string>(), "input") : Json::object();
    run::RunOptions opts = drive_options(vm);
    opts.flow_file = flow;
    if (vm.count("run-id")) opts.run_id = vm["run-id"].as<std::string>();
    if (vm.count("name")) opts.name = vm["name"].as<std::string>();
    run::Engine engine(action_registry());
    return drive_on_ranks(out, opts, [&](const run::RunOptions& o) { return engine.start(definition, input, o); });
  });
}

int resume_main(const std::vector<std::string>& args) {
  Output out("resume", args);
  out.error_form(run_errors(out.command()));
  return out.run([&] {
    po::options_description o("Options");
    o.add_options()("run-id", po::value<std::string>()->required(), "the run to continue");
    add_drive_options(o);
    po::positional_options_description pos;
    pos.add("run-id", 1);
    po::variables_map vm;
    if (!out.parse("RUN_ID [--json]", o, pos, args, vm)) return kExitOk;
    run::Engine engine(action_registry());
    run::RunOptions opts = drive_options(vm);
    const std::string run_id = vm["run-id"].as<std::string>();
    opts.run_id = run_id;
    return drive_on_ranks(out, opts, [&](const run::RunOptions& o) { return engine.resume(run_id, o); });
  });
}

const Registrar run_cmd{{"run", "run a flow to completion, every transition journaled", run_main}};
const Registrar resume_cmd{{"resume", "continue a run whose process died, without re-running finished actions", resume_main}};

}  // namespace
}  // namespace beamflow::cli
