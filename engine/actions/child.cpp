#include "actions/child.hpp"

#include <cstdlib>
#include <iostream>

#include "actions/builtins.hpp"
#include "actions/durable.hpp"
#include "actions/supervised.hpp"
#include "core/error.hpp"
#include "platform/launcher.hpp"

namespace beamflow::actions::child {
namespace {

namespace stdfs = std::filesystem;
namespace files = command::files;

// Between SIGTERM and SIGKILL to the child's process group on cancel.
constexpr std::chrono::milliseconds kKillGrace{5000};

Json request_json(const ActionRequest& r) { return to_json(r); }

ActionRequest request_from(const Json& j, const stdfs::path& state_dir) {
  try {
    ActionRequest r = request_from_json(j);
    r.state_dir = state_dir / files::kChildDir;
    return r;
  } catch (const std::exception& e) {
    throw Error("action.state_corrupt", states_error::Runtime,
                std::string("action request is malformed: ") + e.what(),
                {{"file", (state_dir / files::kRequest).string()}});
  }
}

}  // namespace

stdfs::path executable() {
  if (const char* exe = std::getenv("BEAMFLOW_EXE"); exe && *exe) return exe;
  return current_executable();
}

std::string mpiexec() {
  const char* launcher = std::getenv("BEAMFLOW_MPIEXEC");
  return launcher && *launcher ? launcher : "mpiexec";
}

command::CommandSpec prepare(const std::string& action, const ActionRequest& r, const Placement& p) {
  durable::write_json(r.state_dir / files::kRequest, request_json(r));
  command::CommandSpec spec;
  if (p.ranks > 1) {
    // A launch of its own, from a process a launcher may have started (a
    // pilot's rank): without that launcher's environment, on this node or,
    // when a pilot placed the ranks on several, as a job step over them.
    platform::NestedLaunch nested = platform::nested_launch({p.ranks, p.hosts, mpiexec()});
    spec.argv = std::move(nested.argv);
    spec.unset_env = std::move(nested.unset);
    spec.env = std::move(nested.set);
  } else {
    // One rank in a process of its own, started from a process a launcher
    // may have started (a pilot's worker rank): without that launcher's
    // environment, or it takes itself for one of the job's ranks and its
    // MPI_Init aborts ("Local abort before MPI_INIT completed").
    spec.unset_env = platform::nested_launch().unset;
  }
  for (std::string a : {executable().string(), std::string(kActionCommand), action, r.state_dir.string()})
    spec.argv.push_back(std::move(a));
  const stdfs::path base = r.work_dir.empty() ? stdfs::current_path() : stdfs::absolute(r.work_dir);
  spec.cwd = base.lexically_normal();
  spec.kill_grace = kKillGrace;
  spec.child = p.no_outcome;
  return spec;
}

ActionState drive(const std::string& action, const ActionRequest& r, const Placement& p) {
  return supervised::drive(r, current_executable(), [&] { return prepare(action, r, p); });
}

ActionState run_and_wait(const std::string& action, const ActionRequest& r, const Placement& p) {
  return supervised::wait(r, current_executable(), [&] { return prepare(action, r, p); });
}

ActionState cancel(const ActionRequest& r) { return supervised::cancel(r, kKillGrace); }

ActionState request_cancel(const ActionRequest& r) { return supervised::request_cancel(r); }

int action_main(const ActionRegistry& registry, const std::vector<std::string>& args, int rank) {
  if (args.size() != 2 || args[0].empty() || args[1].empty()) {
    std::cerr << "usage: beamflow " << kActionCommand << " NAME STATE_DIR\n";
    return 2;
  }
  const stdfs::path dir = args[1];
  try {
    Action* action = registry.resolve(args[0]);
    if (!action) throw Error("action.child_failed", states_error::TaskFailed, "no action named '" + args[0] + "'");
    const auto request_json = durable::read_json(dir / files::kRequest);
    if (!request_json)
      throw Error("action.child_failed", states_error::TaskFailed, "no action request",
                  {{"file", (dir / files::kRequest).string()}});
    const ActionRequest r = request_from(*request_json, dir);
    stdfs::create_directories(r.state_dir);
    ActionState state = action->run_in_child(r);
    state.action_id.clear();
    if (rank == 0) durable::save_result(r.state_dir, state);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "beamflow " << kActionCommand << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace beamflow::actions::child
