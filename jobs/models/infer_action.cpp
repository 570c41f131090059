#include "jobs/models/infer_action.hpp"

#include "jobs/models/cache.hpp"
#include "jobs/models/ternary.hpp"

namespace beamflow::models {

using actions::ActionRequest;
using actions::ActionState;
using actions::Field;
using actions::FieldType;

InferAction::InferAction()
    : BuiltinAction(
          "infer",
          "Runs a published model: {\"model\": \"NAME[@VERSION]\", \"inputs\": nested array or {\"file\", "
          "\"dataset\"}, \"output\"?: {\"file\", \"dataset\"}}; requests arriving together are batched.",
          actions::Timing::Asynchronous, actions::Effects::None,
          actions::InputSpec(
              {Field::of(FieldType::String, "model", "NAME or NAME@VERSION").mandatory().not_empty(),
               Field::of(FieldType::Any, "inputs",
                         "nested array (batch first), preprocessing documents, or {file, dataset}")
                   .mandatory(),
               Field::of(FieldType::Any, "output", "{file[, dataset]}: write the outputs to HDF5"),
               Field::of(FieldType::String, "repo", "model repository (default: the CLI's)"),
               Field::of(FieldType::Integer, "block_rows", "rows per kernel call for HDF5 inputs")
                   .at_least(1)})) {}

ActionState InferAction::submit(const ActionRequest& r) {
  std::filesystem::path root =
      Repository::open(r.input.contains("repo") ? std::optional(r.input["repo"].get<std::string>())
                                                : std::nullopt)
          .root();
  if (root.is_relative()) root = r.work_dir / root;
  Pending p;
  p.model = process_model_cache().get(Repository(root), ModelRef::parse(r.input["model"].get<std::string>()));
  p.job = InferenceRequest::from_json(r.input["inputs"], r.input.value("output", Json()), r.work_dir);
  if (r.input.contains("block_rows")) p.job.block_rows = r.input["block_rows"].get<std::int64_t>();
  const std::string model = p.model->ref();
  std::lock_guard lock(m_mutex);
  m_pending.insert_or_assign(r.action_id, std::move(p));
  return ActionState::active(r.action_id, std::chrono::milliseconds(0),
                             {{"model", model}, {"queued", m_pending.size()}});
}

ActionState InferAction::run(const ActionRequest& r) {
  return checked(r, [&] {
    {
      std::lock_guard lock(m_mutex);
      if (auto it = m_done.find(r.action_id); it != m_done.end()) return it->second;
    }
    return submit(r);
  });
}

ActionState InferAction::status(const ActionRequest& r) {
  return checked(r, [&] {
    bool queued;
    {
      std::lock_guard lock(m_mutex);
      queued = m_pending.count(r.action_id) || m_done.count(r.action_id);
    }
    if (!queued) submit(r);  // the engine restarted, or release() came first
    flush();
    std::lock_guard lock(m_mutex);
    auto it = m_done.find(r.action_id);
    if (it == m_done.end()) return ActionState::active(r.action_id, std::chrono::milliseconds(1));
    ActionState st = it->second;
    m_done.erase(it);
    return st;
  });
}

void InferAction::flush() {
  std::map<std::string, Pending> work;
  {
    std::lock_guard lock(m_mutex);
    work.swap(m_pending);
  }
  if (work.empty()) return;
  std::map<std::string, ActionState> done;
  auto fail = [](const std::string& id, const Error& e) {
    return ActionState::failed(id, e.asl_name(), e.what());
  };
  // JSON requests without an output file: one batch per model.
  std::map<const Model*, std::vector<std::string>> batches;
  for (auto& [id, p] : work) {
    if (p.job.batchable()) {
      batches[p.model.get()].push_back(id);
      continue;
    }
    try {
      done.emplace(id, ActionState::succeeded(id, run_request(*p.model, p.job)));
    } catch (const Error& e) {
      done.emplace(id, fail(id, e));
    }
  }
  std::uint64_t calls = 0;
  for (const auto& [model, ids] : batches) {
    std::vector<const Json*> inputs;
    for (const auto& id : ids) inputs.push_back(&*work[id].job.inputs);
    const auto results = run_batch(*model, inputs);
    ++calls;
    for (std::size_t i = 0; i < ids.size(); ++i)
      done.emplace(ids[i], results[i].outputs ? ActionState::succeeded(ids[i], *results[i].outputs)
                                              : fail(ids[i], *results[i].error));
  }
  std::lock_guard lock(m_mutex);
  m_batches += calls;
  for (auto& [id, st] : done) m_done.insert_or_assign(id, std::move(st));
}

ActionState InferAction::cancel(const ActionRequest& r) {
  release(r);
  return actions::cancelled(r, "infer cancelled before its batch ran");
}

void InferAction::release(const ActionRequest& r) {
  std::lock_guard lock(m_mutex);
  m_pending.erase(r.action_id);
  m_done.erase(r.action_id);
}

std::uint64_t InferAction::batches_run() const {
  std::lock_guard lock(m_mutex);
  return m_batches;
}

void register_model_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<InferAction>());
  registry.add(make_ternary_grid_action());
  registry.add(make_ternary_map_action());
}

}  // namespace beamflow::models
