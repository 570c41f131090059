#include "jobs/models/cache.hpp"

#include <system_error>

namespace beamflow::models {

std::shared_ptr<const Model> ModelCache::get(const Repository& repository, const ModelRef& ref) {
  const ModelRecord record = repository.find(ref);
  std::error_code ec;
  auto root = std::filesystem::weakly_canonical(repository.root(), ec);
  if (ec) root = std::filesystem::absolute(repository.root());
  const std::string key = root.string() + "\n" + record.ref();
  {
    std::lock_guard lock(m_mutex);
    if (auto it = m_models.find(key); it != m_models.end()) return it->second;
  }
  // Loaded outside the lock: loading hashes and parses files.
  auto model = Model::load(record.dir, repository.read_metadata(record));
  std::lock_guard lock(m_mutex);
  return m_models.try_emplace(key, std::move(model)).first->second;
}

std::size_t ModelCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_models.size();
}

void ModelCache::clear() {
  std::lock_guard lock(m_mutex);
  m_models.clear();
}

ModelCache& process_model_cache() {
  ensure_kokkos();
  static ModelCache cache;
  return cache;
}

}  // namespace beamflow::models
