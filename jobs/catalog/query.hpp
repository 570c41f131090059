#pragma once
// A search request as a value, parsed from the JSON shape Globus Search
// users know (POST /v1/index/INDEX/search):
//   {"q": "tomography steel", "filters": [...], "facets": [...],
//    "sort": [{"field_name": "dc.publicationYear", "order": "desc"}],
//    "limit": 10, "marker": "..."}
// filters: {"type": "match_any"|"match_all", "field_name", "values": [...]}
//          {"type": "range", "field_name", "values": [{"from": X, "to": Y}]}
//            (numbers or ISO dates; "*" for an open end)
//          {"type": "like", "field_name", "value": "Fe*"}   (* and ? wildcards)
// facets:  {"type": "terms", "field_name", "size"}
//          {"type": "numeric_histogram", "field_name", "size", "histogram_range": {"low", "high"}}
//          {"type": "date_histogram", "field_name", "date_interval": "year"|"month"|"day"}
// Parsing is pure; every refusal is catalog.query.invalid naming the field
// ("filters[1].values").
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::catalog {

enum class FilterKind { MatchAny, MatchAll, Range, Like };

struct RangeBound {
  std::optional<std::string> text;  // an ISO date bound
  std::optional<double> number;     // a numeric bound
};

struct Range {
  RangeBound from, to;  // both inclusive; unset = open
};

struct Filter {
  FilterKind kind = FilterKind::MatchAny;
  std::string field;
  std::vector<std::string> values;  // match_any / match_all (as text)
  std::vector<Range> ranges;        // range: any of them
  std::string pattern;              // like: with * and ?
};

enum class FacetKind { Terms, NumericHistogram, DateHistogram };

struct Facet {
  FacetKind kind = FacetKind::Terms;
  std::string name;   // result name (default: the field)
  std::string field;
  int size = 10;      // terms: buckets kept; numeric: bucket count
  double low = 0, high = 0;  // numeric histogram range
  std::string interval = "year";  // date histogram: year, month or day
};

// Sort keys: "_score" (relevance, the default with q), "dc.publicationYear",
// "dc.titles.title", "published", "identifier". Other fields are refused:
// a cursor needs a single value per entry to resume from.
struct SortKey {
  std::string field;
  bool descending = false;
};

struct Query {
  std::string q;                 // free text, every word must match; "tomo*" is a prefix
  std::vector<Filter> filters;
  std::vector<Facet> facets;
  std::vector<SortKey> sort;     // empty: _score desc with q, else published desc
  int limit = 10;                // 1..1000
  std::string marker;            // cursor of the next page, from a previous result
};

Query parse_query(const Json& request);
// The effective sort (defaults applied), always ending with the row id as
// the tie breaker (implicit).
std::vector<SortKey> effective_sort(const Query& query);
// Hash of what selects and orders the results (q, filters, sort): a cursor
// carries it so it cannot be replayed against another query.
std::string query_fingerprint(const Query& query);

// A cursor: the sort values of the last entry shown and its row id.
struct Cursor {
  std::vector<Json> keys;
  std::int64_t row = 0;
};
std::string encode_cursor(const Cursor& cursor, const std::string& fingerprint);
// Throws catalog.cursor.invalid (field=marker) when the marker is damaged or
// belongs to another query.
Cursor decode_cursor(const std::string& marker, const std::string& fingerprint, std::size_t keys);

}  // namespace beamflow::catalog
