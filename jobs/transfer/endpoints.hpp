#pragma once
// Endpoints: named roots a transfer may read from or write to, from a JSON
// config file (configs/endpoints.json):
//
//   {"endpoints": [{"name": "beamline", "path": "/data/32id", "read": true, "write": false}, ...]}
//
// "read" defaults to true, "write" to false (an endpoint is written only when
// its config says so). A relative "path" resolves against the config file's
// folder. Names are plain: letters, digits, '-', '_', '.'.
#include <filesystem>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::transfer {

struct Endpoint {
  std::string name;
  std::filesystem::path root;  // absolute
  bool read = true;
  bool write = false;
};

class Endpoints {
 public:
  // Throws transfer.endpoints.unreadable (file missing or unreadable) or
  // transfer.endpoints.invalid (not JSON, wrong shape, duplicate names).
  static Endpoints load(const std::filesystem::path& file);
  // `base` is the folder relative paths resolve against.
  static Endpoints from_json(const Json& config, const std::filesystem::path& base,
                             const std::string& file_label = "<json>");

  // Throws transfer.endpoint.unknown naming the known endpoints.
  const Endpoint& get(const std::string& name) const;
  const std::vector<Endpoint>& all() const noexcept { return m_endpoints; }

 private:
  std::vector<Endpoint> m_endpoints;
};

}  // namespace beamflow::transfer
