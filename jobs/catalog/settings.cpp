#include "jobs/catalog/settings.hpp"

#include <cstdlib>

namespace beamflow::catalog {
namespace {

std::filesystem::path home() {
  if (const char* h = std::getenv("BEAMFLOW_HOME"); h && *h) return h;
  return ".beamflow";
}

}  // namespace

std::string default_catalog_location() {
  if (const char* c = std::getenv("BEAMFLOW_CATALOG"); c && *c) return c;
  std::filesystem::create_directories(home());
  return "sqlite:" + (home() / "catalog.sqlite").string();
}

std::filesystem::path default_storage() {
  if (const char* d = std::getenv("BEAMFLOW_DATASETS"); d && *d) return d;
  return home() / "datasets";
}

}  // namespace beamflow::catalog
