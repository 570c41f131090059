#pragma once
// Model metadata: DLHub's servable document (datacite, dlhub, servable
// sections) plus a `beamflow` section with what the C++ runtime needs
// (docs/models.md, "Metadata"). Checking reports every problem with the JSON
// pointer of the field, so a refused publish says exactly what to fix.
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::models {

struct MetadataProblem {
  std::string pointer;  // "/datacite/creators/0/creatorName"
  std::string message;
};

// Every way `meta` breaks the schema; empty when it is valid. Public models
// (dlhub.visible_to holds "public") must also name creators, a title and a
// description.
std::vector<MetadataProblem> check_metadata(const Json& meta);
// Throws model.metadata.invalid listing the problems (the first one's
// pointer as the `field` context) unless there are none.
void require_valid_metadata(const Json& meta);

// True for a model name: [A-Za-z0-9][A-Za-z0-9_.-]* up to 128 characters.
bool valid_model_name(const std::string& name);

// The fields people and searches see, read from valid metadata.
struct ModelSummary {
  std::string name;
  std::string version;
  std::string title;
  std::string description;
  std::vector<std::string> authors;
  std::vector<std::string> domains;
  std::string format;
  std::string input_type;  // "ndarray float32 [null, 145]", or the preprocessing's input
  bool is_public = false;
  std::optional<std::string> doi;

  static ModelSummary of(const Json& meta);
  Json to_json() const;
};

}  // namespace beamflow::models
