#include "jobs/catalog/settings.hpp"

#include <cstdlib>

#include "platform/private_dir.hpp"

namespace beamflow::catalog {
namespace {

std::filesystem::path home() {
  if (const char* h = std::getenv("BEAMFLOW_HOME"); h && *h) return h;
  return ".beamflow";
}

}  // namespace

std::string default_catalog_location() {
  if (const char* c = std::getenv("BEAMFLOW_CATALOG"); c && *c) return c;
  // $BEAMFLOW_HOME holds beamflow's state (the catalog among it): created
  // owner-only, and refused when others may write to it, as for the runs.
  fs::create_private_directories(home(), "catalog.open");
  fs::refuse_shared_directory(home(), "run.home_shared");
  return "sqlite:" + (home() / "catalog.sqlite").string();
}

std::filesystem::path default_storage() {
  if (const char* d = std::getenv("BEAMFLOW_DATASETS"); d && *d) return d;
  return home() / "datasets";
}

std::filesystem::path default_notifications() {
  if (const char* d = std::getenv("BEAMFLOW_NOTIFICATIONS"); d && *d) return d;
  return home() / "notifications";
}

}  // namespace beamflow::catalog
