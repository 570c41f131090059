#pragma once
// The flow actions of the model hub:
//   infer         {"model": "NAME[@VERSION]", "inputs": [...] | {"file", "dataset"},
//                  "output"?: {"file"[, "dataset"]}, "repo"?: DIR, "block_rows"?: N}
//                 -> {"model", "outputs", "labels"?} or {"model", "output": {"file", "dataset", "shape"}}
//   ternary_grid  and ternary_map (ternary.hpp), for composition sweeps.
//
// infer is asynchronous so that requests arriving together are evaluated
// together: run() queues a request and the first status() poll evaluates
// every queued request, one kernel call per model for the JSON ones (a Map
// over a composition grid becomes one batch). Models are loaded once per
// process (per MPI rank) and cached. A request lost with its process is
// queued again on the next poll: inference is pure, and an output file is
// written whole under a temporary name, so running it twice is harmless.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "actions/builtin_action.hpp"
#include "jobs/models/inference.hpp"

namespace beamflow::models {

class InferAction final : public actions::BuiltinAction {
 public:
  InferAction();
  actions::ActionState run(const actions::ActionRequest& request) override;
  actions::ActionState status(const actions::ActionRequest& request) override;
  actions::ActionState cancel(const actions::ActionRequest& request) override;
  void release(const actions::ActionRequest& request) override;

  // Kernel calls made for batches of JSON requests so far.
  std::uint64_t batches_run() const;

 private:
  struct Pending {
    std::shared_ptr<const Model> model;
    InferenceRequest job;
  };
  actions::ActionState submit(const actions::ActionRequest& request);
  void flush();

  mutable std::mutex m_mutex;
  std::map<std::string, Pending> m_pending;            // by action id
  std::map<std::string, actions::ActionState> m_done;  // by action id, until polled
  std::uint64_t m_batches = 0;
};

// Registers infer, ternary_grid and ternary_map.
void register_model_actions(actions::ActionRegistry& registry);

}  // namespace beamflow::models
