// beamflow pilot --dir D: a pilot job. Alone it is one process whose worker
// ranks are threads (--slots); under `mpirun -np N` or `srun` rank 0
// coordinates and ranks 1..N-1 execute (engine/pilot/coordinator.hpp,
// worker.hpp), their messages carried by parallel::Mailbox.
#include <malloc.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <system_error>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "apps/beamflow/mpi_channel.hpp"
#include "parallel/mailbox.hpp"
#include "pilot/channel.hpp"
#include "pilot/coordinator.hpp"
#include "pilot/intake.hpp"
#include "pilot/worker.hpp"
#include "platform/launcher.hpp"
#include "platform/signals.hpp"
#include "platform/spawn.hpp"
#include "triggers/watcher.hpp"

namespace beamflow::cli {
namespace {

// The batch script: --script, $BEAMFLOW_PILOT_SBATCH, or slurm/pilot.sbatch
// beside an installed (share/beamflow) or source-tree layout.
std::filesystem::path sbatch_script(const po::variables_map& vm) {
  if (vm.count("script")) return std::filesystem::absolute(vm["script"].as<std::string>());
  if (const char* env = std::getenv("BEAMFLOW_PILOT_SBATCH"); env && *env) return std::filesystem::absolute(env);
  const auto exe = std::filesystem::canonical("/proc/self/exe").parent_path();
  for (const auto& candidate : {exe / "../share/beamflow/pilot.sbatch", exe / "pilot.sbatch"})
    if (std::filesystem::exists(candidate)) return std::filesystem::canonical(candidate);
  throw Error("pilot.sbatch", states_error::Runtime,
              "cannot find pilot.sbatch: give --script PATH or set BEAMFLOW_PILOT_SBATCH (the file is slurm/pilot.sbatch "
              "in the source tree)");
}

// The pilot runs the triggers registered in its directory (D/triggers/,
// `beamflow trigger add --pilot D`) on a thread beside the coordinator, so
// a beamline needs one process; what they hand over reaches the coordinator
// through D/inbox like any submission. Stopped (hand-offs in progress
// finished, queued ones left to the next start's rescan) when the pilot
// drains. A watcher that cannot start (a watched directory missing:
// trigger.watch.missing, the watch limit) stops the pilot with its error,
// before anything runs. One that fails later (a registration whose
// directory cannot be watched) is logged; the pilot keeps running what it has.
class HostedTriggers {
 public:
  HostedTriggers(const std::filesystem::path& dir, const std::function<void(const std::string&)>& log)
      : m_watcher(dir, [log](const std::string& line) { log("trigger: " + line); }), m_thread([this, log] {
          try {
            m_watcher.run(m_stop.fd());
          } catch (const std::exception& e) {
            log(std::string("trigger: the watcher stopped: ") + e.what() + " (restart the pilot once fixed)");
          }
        }) {}
  HostedTriggers(const HostedTriggers&) = delete;
  HostedTriggers& operator=(const HostedTriggers&) = delete;
  ~HostedTriggers() {
    m_stop.notify();
    m_thread.join();
  }
  const triggers::Watcher& watcher() const { return m_watcher; }

 private:
  triggers::Watcher m_watcher;
  fs::Wakeup m_stop;
  std::thread m_thread;  // last: started once the others exist
};

std::unique_ptr<HostedTriggers> host_triggers(const po::variables_map& vm, const pilot::CoordinatorOptions& c) {
  if (vm.count("no-triggers")) return nullptr;
  std::unique_ptr<HostedTriggers> t;
  try {
    t = std::make_unique<HostedTriggers>(c.dir, c.log);
  } catch (const Error& e) {
    // No inotify instance to be had (the user is at fs.inotify.max_user_instances),
    // or another watcher hands over to this directory (`beamflow trigger
    // watch`: one at a time, pilot.ledger.locked): the pilot still runs what
    // is submitted, as when the watcher stops later.
    if (e.id() != "fs.events" && e.id() != "pilot.ledger.locked") throw;
    c.log(std::string("trigger: the watcher did not start: ") + e.what() + " (restart the pilot once fixed)");
    return nullptr;
  }
  c.log("triggers: " + std::to_string(t->watcher().registrations()) + " registrations (" +
        std::to_string(t->watcher().stats().watches) + " directories watched)");
  return t;
}

// beamflow pilot submit: sbatch slurm/pilot.sbatch for a pilot on D.
int pilot_submit_main(const std::vector<std::string>& args) {
  const Output out("pilot submit", args);
  po::options_description o("Options");
  o.add_options()("dir", po::value<std::string>()->required(), "the pilot directory")(
      "nodes", po::value<int>()->default_value(1), "nodes")(
      "ntasks-per-node", po::value<int>()->default_value(2), "ranks per node (one coordinates, the rest work)")(
      "time", po::value<std::string>()->required(), "the time limit (Slurm's --time, e.g. 2:00:00)")(
      "account", po::value<std::string>(), "Slurm account")("partition", po::value<std::string>(), "Slurm partition")(
      "qos", po::value<std::string>(), "Slurm QOS")(
      "max-task-crashes", po::value<int>(),
      "fail a task Pilot.TaskCrashed once it has brought a rank or the pilot down this often (pilot's default 2)")(
      "warn-seconds", po::value<int>()->default_value(90),
      "the drain-and-requeue signal comes this long before the time limit")(
      "launcher", po::value<std::string>()->default_value("mpirun"), "mpirun or srun")(
      "script", po::value<std::string>(), "the batch script (default: slurm/pilot.sbatch)")(
      "json", "print {job_id} as JSON");
  po::variables_map vm;
  if (!out.parse("--dir D --time T [--nodes N] [--ntasks-per-node K] [--account A] [--partition P] [--qos Q]", o, {},
                 args, vm))
    return kExitOk;
  const auto dir = std::filesystem::absolute(vm["dir"].as<std::string>()).lexically_normal();
  pilot::prepare_pilot_dir(dir);  // refuses an unsafe directory before anything is queued
  const std::string launcher = vm["launcher"].as<std::string>();
  if (launcher != "mpirun" && launcher != "srun")
    throw Error("cli.usage", states_error::Runtime, "--launcher is mpirun or srun, not '" + launcher + "'");
  std::vector<std::string> argv = {"sbatch", "--parsable", "--requeue",
                                   "--signal=B:USR1@" + std::to_string(vm["warn-seconds"].as<int>()),
                                   "--nodes=" + std::to_string(vm["nodes"].as<int>()),
                                   "--ntasks-per-node=" + std::to_string(vm["ntasks-per-node"].as<int>()),
                                   "--time=" + vm["time"].as<std::string>(), "--output=" + (dir / "slurm-%j.out").string(),
                                   "--export=ALL,BEAMFLOW_PILOT_DIR=" + dir.string() +
                                       ",BEAMFLOW_EXE=" + std::filesystem::canonical("/proc/self/exe").string() +
                                       ",BEAMFLOW_PILOT_LAUNCHER=" + launcher +
                                       (vm.count("max-task-crashes")
                                            ? ",BEAMFLOW_PILOT_MAX_TASK_CRASHES=" +
                                                  std::to_string(vm["max-task-crashes"].as<int>())
                                            : std::string())};
  for (const char* opt : {"account", "partition", "qos"})
    if (vm.count(opt)) argv.push_back(std::string("--") + opt + "=" + vm[opt].as<std::string>());
  argv.push_back(sbatch_script(vm).string());
  fs::CapturedRun sbatch;
  try {
    sbatch = fs::run_captured(argv);
  } catch (const std::system_error& e) {
    throw Error("pilot.sbatch", states_error::Runtime,
                std::string("cannot run sbatch (is Slurm installed and on PATH?): ") + e.what());
  }
  const std::string job = sbatch.output.substr(0, sbatch.output.find_first_of(";\n"));
  if (sbatch.status != 0 || job.empty())
    throw Error("pilot.sbatch", states_error::Runtime, "sbatch failed (exit " + std::to_string(sbatch.status) + ")",
                {{"output", sbatch.output}});
  out.result({{"job_id", job}, {"dir", dir.string()}}, [&](std::ostream& os) { os << job << "\n"; });
  return kExitOk;
}

int pilot_main(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "submit") return pilot_submit_main({args.begin() + 1, args.end()});
  const Output out("pilot", args);
  po::options_description o("Options");
  o.add_options()("dir", po::value<std::string>()->required(), "the pilot directory (created 0700 when missing)")(
      "max-runs", po::value<std::size_t>()->default_value(64), "runs driven at once; the others wait in D/inbox")(
      "slots", po::value<int>()->default_value(2),
      "worker threads when not under mpirun/srun (under them: ranks 1..N-1 are the workers)")(
      "max-task-crashes", po::value<int>()->default_value(2),
      "a task that brought a worker rank or the pilot down this many times fails Pilot.TaskCrashed instead of "
      "running again (0: never)")(
      "no-fsync", "do not fsync the runs' journals (faster; a machine crash may lose the last transitions)")(
      "no-group-commit", "each run syncs its own journal and files instead of sharing one flush of D's file system")(
      "no-triggers", "do not run the triggers registered in D/triggers/ (`beamflow trigger watch` runs them alone)");
  po::variables_map vm;
  if (!out.parse("--dir D [--max-runs N] [--slots K] [--no-triggers]   (or: mpirun -np N beamflow pilot --dir D)", o,
                 {}, args, vm))
    return kExitOk;
  // glibc's allocator for a long-lived process that allocates and frees a
  // few hundred small blocks per task on several threads (issue 10, perf of
  // a Map of echo items: a fifth of the pilot's CPU was the allocator's own
  // upkeep): no fast bins, whose consolidation ran at every larger request;
  // freed memory kept rather than handed back and faulted in again (each
  // thread's heap shrank and grew with mprotect, page by page). Before any
  // thread, so every arena starts so.
  ::mallopt(M_MXFAST, 0);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  ::mallopt(M_TOP_PAD, 64 << 20);
  // Before any thread (MPI's included): the drain signals become events.
  fs::SignalEvents signals{SIGTERM, SIGINT, SIGUSR1};
  pilot::CoordinatorOptions c;
  c.dir = std::filesystem::absolute(vm["dir"].as<std::string>()).lexically_normal();
  c.max_runs = std::max<std::size_t>(1, vm["max-runs"].as<std::size_t>());
  c.max_task_crashes = std::max(0, vm["max-task-crashes"].as<int>());
  c.durability = vm.count("no-fsync") ? journal::Durability::None : journal::Durability::Fsync;
  c.group_commit = !vm.count("no-group-commit");
  c.log = [&out](const std::string& line) { out.progress(format_time_ms(now_ms()) + " " + line); };
  const auto& registry = action_registry();
  const std::string host = host_name();

  if (platform::launch_info().size > 1) {
    parallel::Mailbox box;
    MpiChannel channel(box);
    if (box.rank() != 0) {
      pilot::run_worker(channel, registry, host, c.dir);
      box.close();
      return kExitOk;
    }
    c.log("pilot on " + std::to_string(box.size()) + " ranks, " + std::to_string(box.size() - 1) + " workers");
    try {
      const auto hosted = host_triggers(vm, c);
      pilot::run_coordinator(channel, registry, c, signals);
    } catch (...) {
      // The workers must not wait forever for a coordinator that gave up.
      for (int r = 1; r < box.size(); ++r) channel.send(r, R"({"t":"stop"})");
      box.close();
      throw;
    }
    box.close();
    return kExitOk;
  }
  const int slots = std::max(1, vm["slots"].as<int>());
  pilot::LocalChannels channels(slots + 1);
  std::vector<std::thread> workers;
  for (int r = 1; r <= slots; ++r)
    workers.emplace_back([&, r] { pilot::run_worker(channels.at(r), registry, host, c.dir); });
  c.log("pilot in one process, " + std::to_string(slots) + " worker threads");
  try {
    const auto hosted = host_triggers(vm, c);
    pilot::run_coordinator(channels.at(0), registry, c, signals);
  } catch (...) {
    for (int r = 1; r <= slots; ++r) channels.at(0).send(r, R"({"t":"stop"})");
    for (auto& t : workers) t.join();
    throw;
  }
  for (auto& t : workers) t.join();
  return kExitOk;
}

const Registrar pilot_cmd{{"pilot", "run a pilot job on a directory: accepts submitted flows, runs their tasks on its ranks",
                           pilot_main}};

}  // namespace
}  // namespace beamflow::cli
