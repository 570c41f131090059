#pragma once
// Loaded models kept for the life of the process (one per MPI rank): the
// first request for NAME@VERSION of a repository loads and checks it, later
// ones share it. A request without @VERSION resolves the latest version on
// every call, so a newly published version is picked up.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "jobs/models/repository.hpp"

namespace beamflow::models {

class ModelCache {
 public:
  std::shared_ptr<const Model> get(const Repository& repository, const ModelRef& ref);
  std::size_t size() const;
  void clear();

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<const Model>> m_models;
};

// The process's cache (Kokkos is initialised before it, so it is finalised
// after the cached models are gone).
ModelCache& process_model_cache();

}  // namespace beamflow::models
