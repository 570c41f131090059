#pragma once
// Metadata and entries the catalog tests build on.
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/catalog/entry.hpp"

namespace beamflow::catalog::test {

// A complete, valid metadata document.
inline Json metadata(const std::string& title = "Steel fatigue tomography", int year = 2026) {
  return Json{{"dc",
               {{"creators", {{{"name", "Curie, Marie"}, {"nameType", "Personal"}}}},
                {"titles", {{{"title", title}}}},
                {"publisher", "Beamline 2-BM"},
                {"publicationYear", year},
                {"types", {{"resourceTypeGeneral", "Dataset"}, {"resourceType", "Tomography scan"}}},
                {"subjects", {{{"subject", "tomography"}}}},
                {"dates", {{{"date", "2026-11-30"}, {"dateType", "Collected"}}}},
                {"rightsList", {{{"rights", "CC-BY-4.0"}}}},
                {"descriptions", {{{"description", "Fatigue cracks in steel"}, {"descriptionType", "Abstract"}}}}}},
              {"domain", {{"elements", {"Fe", "C"}}, {"beamline", "2-BM"}, {"energy_kev", 25.0}}}};
}

// An entry ready for Catalog::ingest (no files behind it): the bulk path
// of the search tests.
inline Entry entry(const std::string& identifier, Json content, std::vector<std::string> visible_to = {"public"},
                   std::string owner = "alice") {
  Entry e;
  e.identifier = identifier;
  e.content = std::move(content);
  e.visible_to = std::move(visible_to);
  e.owner = std::move(owner);
  e.location = "/nonexistent";
  e.manifest_digest = std::string(64, '0');
  e.published_ms = 1764547200000;  // 2025-12-01
  return e;
}

}  // namespace beamflow::catalog::test
