#pragma once
// A model repository: a directory, shareable on a parallel file system.
//
//   ROOT/NAME/VERSION/metadata.json   the completed, checked metadata
//   ROOT/NAME/VERSION/<files>         the model file and its companions (read-only)
//   ROOT/.staging/                    publishes in progress (never read)
//
// Publishing builds the version in a private directory under .staging and
// renames it into NAME/VERSION in one step, so a version is either absent or
// complete; the rename refuses an existing version, so of two concurrent
// publishers of one version exactly one wins. Versions are immutable.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/models/metadata.hpp"
#include "jobs/models/model.hpp"
#include "jobs/models/semver.hpp"

namespace beamflow::models {

struct ModelRecord {
  std::string name;
  SemVer version;
  std::filesystem::path dir;
  std::string ref() const { return name + "@" + version.text; }
};

struct PublishRequest {
  // A model file, or a directory holding one and (optionally) metadata.json.
  std::filesystem::path source;
  // Metadata to use instead of SOURCE/metadata.json (`--meta`).
  std::optional<Json> metadata;
  // Override the metadata's dlhub.name / datacite.version.
  std::optional<std::string> name;
  std::optional<std::string> version;
};

struct SearchQuery {
  std::string text;  // words, all of which must occur (any case)
  std::optional<std::string> domain;
  std::optional<std::string> input_type;
  std::optional<std::string> format;
};

class Repository {
 public:
  explicit Repository(std::filesystem::path root);
  // `override_dir` (--repo), else $BEAMFLOW_MODEL_REPO, else
  // $BEAMFLOW_HOME/models.
  static Repository open(const std::optional<std::string>& override_dir = std::nullopt);

  const std::filesystem::path& root() const noexcept { return m_root; }

  // Every published version, by name then ascending version.
  std::vector<ModelRecord> list() const;
  // The version `ref` names, or the highest one; throws model.not_found.
  ModelRecord find(const ModelRef& ref) const;
  // The stored metadata; throws model.metadata.corrupt.
  Json read_metadata(const ModelRecord& record) const;
  // find + read_metadata + Model::load (uncached: see cache.hpp).
  std::shared_ptr<const Model> load(const ModelRef& ref) const;

  // Checks, validates and stores a model (publish.cpp); returns where it is.
  // Throws model.publish.* / model.metadata.invalid / model.validation.failed
  // and leaves nothing behind in the repository when it does.
  ModelRecord publish(const PublishRequest& request) const;

  // Models whose summary matches `query`, by name then version.
  std::vector<ModelSummary> search(const SearchQuery& query) const;

 private:
  std::filesystem::path m_root;
};

}  // namespace beamflow::models
