#include "jobs/catalog/catalog.hpp"

#include "jobs/catalog/errors.hpp"

namespace beamflow::catalog {

Json to_gmeta(const SearchResult& r) {
  Json gmeta = Json::array();
  for (const auto& hit : r.hits) {
    std::string subject = hit.entry.identifier;
    gmeta.push_back({{"subject", subject},
                     {"@datatype", "GMetaResult"},
                     {"entries", Json::array({{{"content", entry_document(hit.entry)},
                                               {"entry_id", Json()},
                                               {"matching_principal", Json()}}})},
                     {"score", hit.score}});
  }
  Json facets = Json::array();
  for (const auto& f : r.facets) {
    Json buckets = Json::array();
    for (const auto& b : f.buckets) buckets.push_back({{"value", b.value}, {"count", b.count}});
    facets.push_back({{"name", f.name}, {"buckets", buckets}, {"@datatype", "GFacetResult"}});
  }
  Json out = {{"@datatype", "GSearchResult"},
              {"gmeta", gmeta},
              {"total", r.total},
              {"count", r.hits.size()},
              {"offset", 0},
              {"has_next_page", !r.marker.empty()},
              {"facet_results", facets}};
  out["marker"] = r.marker.empty() ? Json() : Json(r.marker);
  return out;
}

std::unique_ptr<Catalog> open_catalog(const std::string& location) {
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0)
    return open_postgres_catalog(location);
  if (location.rfind("postgresql:", 0) == 0) return open_postgres_catalog(location.substr(11));
  if (location.rfind("sqlite:", 0) == 0) return open_sqlite_catalog(location.substr(7));
  if (location.empty()) fail("catalog.open", "no catalog location given");
  return open_sqlite_catalog(location);
}

}  // namespace beamflow::catalog
