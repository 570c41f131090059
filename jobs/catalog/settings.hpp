#pragma once
// Where the catalog and the published bags live unless told otherwise:
//   catalog: $BEAMFLOW_CATALOG, else sqlite:$BEAMFLOW_HOME/catalog.sqlite
//   storage: $BEAMFLOW_DATASETS, else $BEAMFLOW_HOME/datasets
//   curator notifications: $BEAMFLOW_NOTIFICATIONS, else
//            $BEAMFLOW_HOME/notifications (notify.hpp)
// (BEAMFLOW_HOME defaults to ./.beamflow). A facility sets BEAMFLOW_CATALOG
// to its PostgreSQL URI and BEAMFLOW_DATASETS to permanent storage.
#include <filesystem>
#include <string>

namespace beamflow::catalog {

std::string default_catalog_location();
std::filesystem::path default_storage();
std::filesystem::path default_notifications();

}  // namespace beamflow::catalog
