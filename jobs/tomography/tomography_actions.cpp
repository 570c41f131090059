#include "jobs/tomography/tomography_actions.hpp"

#include <memory>
#include <mutex>

#include "actions/child.hpp"
#include "actions/durable.hpp"
#include "actions/input_spec.hpp"
#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/requests.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::jobs {

namespace {

std::mutex& job_mutex() {
  static std::mutex m;
  return m;
}

// One rank in this process, without MPI (a serial Comm: files opened
// without MPI-IO); Kokkos initialised once, kept till exit.
parallel::Comm self() {
  parallel::ParallelRuntime::process();
  return parallel::Comm::serial();
}

// Every rank of the job this child process belongs to (`mpiexec -np R
// beamflow __action ...`); one rank on a serial Comm, without MPI_Init, when
// no mpiexec started it.
const parallel::Comm& world() { return parallel::ParallelRuntime::process().world(); }

template <class O>
class TomographyAction : public actions::Action {
 public:
  using Body = std::function<Json(const O&, const Json& request, const parallel::Comm& comm)>;
  using Where = std::function<actions::Placement(const Json& input)>;
  TomographyAction(std::string name, std::string description, const std::vector<Field<O>>& fields, Body body,
                   Json extra_properties = Json::object(), Where where = {})
      : m_fields(fields), m_body(std::move(body)), m_extra(std::move(extra_properties)), m_where(std::move(where)) {
    m_info.name = std::move(name);
    m_info.description = std::move(description);
    m_info.input_schema = input_schema(fields);
    for (const auto& [key, value] : m_extra.items()) m_info.input_schema["properties"][key] = value;
    m_info.synchronous = true;
    m_info.side_effects = true;
  }

  const actions::ActionInfo& info() const override { return m_info; }

  // Every tomography job can take minutes, so under the driver it runs as a
  // supervised child process (`beamflow __action NAME STATE_DIR`; under
  // mpiexec for ranks > 1), never on the driver's thread. A direct run()
  // (tests, the CLI) still runs one rank here.
  actions::Placement placement(const actions::ActionRequest& request) const override {
    if (m_where) return m_where(request.input);
    actions::Placement p;
    p.own_process = true;
    p.no_outcome = {"action.child_failed", states_error::TaskFailed, "beamflow __action " + m_info.name};
    return p;
  }

  actions::ActionState run(const actions::ActionRequest& request) override {
    if (auto done = actions::durable::load_result(request.state_dir, request.action_id)) return *done;
    if (const actions::Placement where = placement(request); where.own_process && where.ranks > 1) {
      // Refuse a bad input here rather than after starting the ranks; the
      // supervisor records the child's outcome in state_dir/result.json.
      try {
        options(request);
      } catch (const Error& e) {
        if (is_usage_error(e)) return actions::invalid_input(request, m_info.name, e.what());
        return actions::durable::save_result(request.state_dir,
                                             actions::ActionState::failed(request.action_id, e.asl_name(), e.what()));
      }
      return actions::child::run_and_wait(m_info.name, request, where);
    }
    const std::lock_guard lock(job_mutex());
    bool usage = false;
    actions::ActionState state = execute(request, self(), usage);
    return usage ? state : actions::durable::save_result(request.state_dir, state);
  }

  // In `beamflow __action NAME STATE_DIR`, on every rank of its job.
  actions::ActionState run_in_child(const actions::ActionRequest& request) override {
    bool usage = false;
    return execute(request, world(), usage);
  }

  actions::ActionState status(const actions::ActionRequest& request) override { return run(request); }

  actions::ActionState cancel(const actions::ActionRequest& request) override {
    if (placement(request).ranks > 1) return actions::child::cancel(request);
    return actions::ActionState::failed(request.action_id, "Action.Cancelled",
                                        m_info.name + " is synchronous: nothing was in flight");
  }

 private:
  O options(const actions::ActionRequest& request) const {
    Json job_request = request.input.is_object() ? request.input : Json();
    for (const auto& [key, value] : m_extra.items()) job_request.erase(key);
    return options_from_json(m_fields, job_request, request.work_dir);
  }

  // `usage` is set when the input is refused (Action.InvalidInput, not recorded).
  actions::ActionState execute(const actions::ActionRequest& request, const parallel::Comm& comm, bool& usage) {
    try {
      return actions::ActionState::succeeded(request.action_id, m_body(options(request), request.input, comm));
    } catch (const Error& e) {
      usage = is_usage_error(e);
      if (usage) return actions::invalid_input(request, m_info.name, e.what());
      return actions::ActionState::failed(request.action_id, e.asl_name(), e.what());
    }
  }

  std::vector<Field<O>> m_fields;
  Body m_body;
  Json m_extra;
  Where m_where;
  actions::ActionInfo m_info;
};

// The MPI ranks a reconstruct request asks for (validated by the body:
// anything but an integer 1..4096 runs here, and fails there at once as
// invalid input).
actions::Placement reconstruct_placement(const Json& input) {
  actions::Placement p;
  const Json ranks = input.is_object() ? input.value("ranks", Json(1)) : Json(1);
  if (!ranks.is_number_integer() || ranks.get<std::int64_t>() < 1 || ranks.get<std::int64_t>() > 4096) return p;
  p.ranks = static_cast<int>(ranks.get<std::int64_t>());
  p.own_process = true;
  if (const Json nodes = input.value("nodes", Json()); nodes.is_string()) p.nodes = nodes.get<std::string>();
  if (p.ranks == 1) {
    // One rank: a child process without mpiexec, off the driver's thread.
    p.no_outcome = {"action.child_failed", states_error::TaskFailed, "beamflow __action reconstruct"};
    return p;
  }
  // Id, name and wording kept from when this ran `mpirun beamflow recon`.
  p.no_outcome = {"tomo.action.ranks_failed", tomo_asl::Kernel,
                  "mpirun -np " + std::to_string(p.ranks) + " beamflow recon"};
  return p;
}

}  // namespace

void register_tomography_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<TomographyAction<ReconOptions>>(
      "reconstruct", "reconstruct tomography slices from a Data Exchange file (resumable)", recon_fields(),
      [](const ReconOptions& options, const Json& input, const parallel::Comm& comm) {
        const Json ranks_field = input.value("ranks", Json(1));
        if (!ranks_field.is_number_integer() || ranks_field.get<std::int64_t>() < 1 ||
            ranks_field.get<std::int64_t>() > 4096)
          throw usage_error("ranks", "ranks must be an integer 1..4096");
        const Json nodes_field = input.value("nodes", Json("one_node"));
        if (!nodes_field.is_string() || (nodes_field != "one_node" && nodes_field != "spread" && nodes_field != "pack"))
          throw usage_error("nodes", "nodes must be one_node, spread or pack");
        return reconstruct(options, comm).to_json();
      },
      Json{{"ranks",
            {{"type", "integer"},
             {"default", 1},
             {"description", "MPI ranks; > 1 runs as a supervised child process under mpiexec"}}},
           {"nodes",
            {{"type", "string"},
             {"enum", {"one_node", "spread", "pack"}},
             {"default", "one_node"},
             {"description", "in a pilot over several nodes, where the ranks go: one node, one rank per node, or as few nodes as possible"}}}},
      reconstruct_placement));
  registry.add(std::make_shared<TomographyAction<FindCenterOptions>>(
      "find_center", "find the rotation centre of a Data Exchange file", find_center_fields(),
      [](const FindCenterOptions& options, const Json&, const parallel::Comm& comm) {
        return find_center(options, comm).to_json();
      }));
  registry.add(std::make_shared<TomographyAction<PreviewOptions>>(
      "preview", "PNG previews of reconstructed slices", preview_fields(),
      [](const PreviewOptions& options, const Json&, const parallel::Comm&) {
        return write_previews(options).to_json();
      }));
}

}  // namespace beamflow::jobs
