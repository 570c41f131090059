#include "jobs/catalog/query.hpp"

#include <cmath>
#include <set>

#include "core/hash.hpp"
#include "core/json_parse.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

const std::set<std::string> kSortable = {"_score", "dc.publicationYear", "dc.titles.title", "published", "identifier"};

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  invalid("catalog.query.invalid", field, what);
}

std::string field_name(const Json& obj, const std::string& at) {
  const auto it = obj.find("field_name");
  if (it == obj.end() || !it->is_string() || it->get<std::string>().empty())
    bad(at + ".field_name", "is required (a dotted field such as dc.subjects.subject)");
  const auto& f = it->get_ref<const std::string&>();
  if (f.size() > 256) bad(at + ".field_name", "longer than 256 characters");
  for (unsigned char c : f)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@' && c != '$')
      bad(at + ".field_name", "'" + f + "' is not a dotted field name");
  return f;
}

std::string value_text(const Json& v, const std::string& at) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return v.dump();
  }
  bad(at, "must be a string, number or boolean");
}

RangeBound bound(const Json& r, const char* key, const std::string& at) {
  RangeBound b;
  const auto it = r.find(key);
  if (it == r.end() || it->is_null() || (it->is_string() && it->get<std::string>() == "*")) return b;
  if (it->is_number()) {
    b.number = it->get<double>();
  } else if (it->is_string() && iso_days(it->get<std::string>())) {
    b.text = it->get<std::string>();
  } else {
    bad(at + "." + key, it->dump() + " is neither a number, an ISO date nor \"*\"");
  }
  return b;
}

void only(const Json& obj, const std::string& at, const std::set<std::string>& keys) {
  if (!obj.is_object()) bad(at, "must be an object");
  for (const auto& [k, v] : obj.items())
    if (!keys.count(k)) bad(at + "." + k, "unknown property");
}

int int_in(const Json& obj, const char* key, const std::string& at, int def, int lo, int hi) {
  const auto it = obj.find(key);
  if (it == obj.end()) return def;
  if (!it->is_number_integer() || it->get<long long>() < lo || it->get<long long>() > hi)
    bad(at + "." + key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return it->get<int>();
}

Filter parse_filter(const Json& j, const std::string& at) {
  only(j, at, {"type", "field_name", "values", "value"});
  Filter f;
  f.field = field_name(j, at);
  const std::string type = j.value("type", "match_any");
  if (type == "match_any" || type == "match_all") {
    f.kind = type == "match_any" ? FilterKind::MatchAny : FilterKind::MatchAll;
    const auto it = j.find("values");
    if (it == j.end() || !it->is_array() || it->empty()) bad(at + ".values", "needs at least one value");
    if (it->size() > 100) bad(at + ".values", "at most 100 values");
    for (std::size_t i = 0; i < it->size(); ++i)
      f.values.push_back(value_text((*it)[i], at + ".values[" + std::to_string(i) + "]"));
  } else if (type == "range") {
    f.kind = FilterKind::Range;
    const auto it = j.find("values");
    if (it == j.end() || !it->is_array() || it->empty()) bad(at + ".values", "needs at least one {from, to}");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string r_at = at + ".values[" + std::to_string(i) + "]";
      only((*it)[i], r_at, {"from", "to"});
      Range r{bound((*it)[i], "from", r_at), bound((*it)[i], "to", r_at)};
      if ((r.from.number && r.to.text) || (r.from.text && r.to.number))
        bad(r_at, "mixes a number and a date");
      f.ranges.push_back(std::move(r));
    }
  } else if (type == "like") {
    f.kind = FilterKind::Like;
    const auto it = j.find("value");
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty())
      bad(at + ".value", "needs a pattern (* and ? are wildcards)");
    f.pattern = it->get<std::string>();
  } else {
    bad(at + ".type", "'" + type + "' is not match_any, match_all, range or like");
  }
  return f;
}

Facet parse_facet(const Json& j, const std::string& at) {
  only(j, at, {"type", "field_name", "name", "size", "histogram_range", "date_interval"});
  Facet f;
  f.field = field_name(j, at);
  f.name = j.value("name", f.field);
  const std::string type = j.value("type", "terms");
  if (type == "terms") {
    f.kind = FacetKind::Terms;
    f.size = int_in(j, "size", at, 10, 1, 1000);
  } else if (type == "numeric_histogram") {
    f.kind = FacetKind::NumericHistogram;
    f.size = int_in(j, "size", at, 10, 1, 1000);
    const auto r = j.find("histogram_range");
    if (r == j.end() || !r->is_object() || !r->contains("low") || !r->contains("high") || !(*r)["low"].is_number() ||
        !(*r)["high"].is_number())
      bad(at + ".histogram_range", "needs numbers low and high");
    f.low = (*r)["low"].get<double>();
    f.high = (*r)["high"].get<double>();
    if (!(f.high > f.low)) bad(at + ".histogram_range", "high must be above low");
  } else if (type == "date_histogram") {
    f.kind = FacetKind::DateHistogram;
    f.interval = j.value("date_interval", "year");
    if (f.interval != "year" && f.interval != "month" && f.interval != "day")
      bad(at + ".date_interval", "'" + f.interval + "' is not year, month or day");
  } else {
    bad(at + ".type", "'" + type + "' is not terms, numeric_histogram or date_histogram");
  }
  return f;
}

std::string b64url(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += k[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += k[((val << 8) >> (bits + 8)) & 0x3F];
  return out;
}

std::optional<std::string> unb64url(const std::string& in) {
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '-') d = 62;
    else if (c == '_') d = 63;
    else return std::nullopt;
    val = (val << 6) + static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

Query parse_query(const Json& j) {
  if (!j.is_object()) bad("query", "must be a JSON object");
  only(j, "query", {"q", "filters", "facets", "sort", "limit", "marker", "advanced", "offset"});
  Query q;
  if (auto it = j.find("q"); it != j.end()) {
    if (!it->is_string()) bad("q", "must be a string");
    q.q = it->get<std::string>();
    if (q.q.size() > 4096) bad("q", "longer than 4096 characters");
  }
  if (auto it = j.find("filters"); it != j.end()) {
    if (!it->is_array()) bad("filters", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i)
      q.filters.push_back(parse_filter((*it)[i], "filters[" + std::to_string(i) + "]"));
  }
  if (auto it = j.find("facets"); it != j.end()) {
    if (!it->is_array()) bad("facets", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i)
      q.facets.push_back(parse_facet((*it)[i], "facets[" + std::to_string(i) + "]"));
  }
  if (auto it = j.find("sort"); it != j.end()) {
    if (!it->is_array()) bad("sort", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string at = "sort[" + std::to_string(i) + "]";
      only((*it)[i], at, {"field_name", "order"});
      SortKey k{field_name((*it)[i], at), false};
      if (!kSortable.count(k.field))
        bad(at + ".field_name", "'" + k.field + "' cannot be sorted on (use _score, dc.publicationYear, dc.titles.title, published or identifier)");
      const std::string order = (*it)[i].value("order", k.field == "_score" ? "desc" : "asc");
      if (order != "asc" && order != "desc") bad(at + ".order", "must be asc or desc");
      k.descending = order == "desc";
      q.sort.push_back(k);
    }
  }
  q.limit = int_in(j, "limit", "query", 10, 1, 1000);
  if (j.contains("offset") && (!j["offset"].is_number_integer() || j["offset"].get<long long>() != 0))
    bad("offset", "is not supported: follow the marker of each page (it works past 10,000 results)");
  if (auto it = j.find("marker"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) bad("marker", "must be a string");
    q.marker = it->get<std::string>();
  }
  for (const auto& k : q.sort)
    if (k.field == "_score" && tokens(q.q).empty()) bad("sort", "_score needs free text (q)");
  return q;
}

std::vector<SortKey> effective_sort(const Query& query) {
  if (!query.sort.empty()) return query.sort;
  if (!tokens(query.q).empty()) return {{"_score", true}};
  return {{"published", true}};
}

std::string query_fingerprint(const Query& query) {
  Json j;
  j["q"] = query.q;
  Json filters = Json::array();
  for (const auto& f : query.filters) {
    Json ranges = Json::array();
    for (const auto& r : f.ranges)
      ranges.push_back({r.from.text ? Json(*r.from.text) : r.from.number ? Json(*r.from.number) : Json(),
                        r.to.text ? Json(*r.to.text) : r.to.number ? Json(*r.to.number) : Json()});
    filters.push_back({static_cast<int>(f.kind), f.field, f.values, ranges, f.pattern});
  }
  j["f"] = filters;
  Json sort = Json::array();
  for (const auto& k : effective_sort(query)) sort.push_back({k.field, k.descending});
  j["s"] = sort;
  return sha256_hex(j.dump()).substr(0, 16);
}

std::string encode_cursor(const Cursor& cursor, const std::string& fingerprint) {
  Json j = {{"k", cursor.keys}, {"r", cursor.row}, {"h", fingerprint}};
  return b64url(j.dump());
}

Cursor decode_cursor(const std::string& marker, const std::string& fingerprint, std::size_t keys) {
  const auto raw = unb64url(marker);
  // The marker comes from the user: depth-limited while parsing (core/json_parse.hpp).
  const Json j = raw ? parse_json_as(*raw, "marker", "catalog.cursor.invalid", kInvalidInput,
                                     "marker: not a cursor this catalog issued", {{"field", "marker"}})
                     : Json();
  if (!j.is_object() || !j.contains("k") || !j["k"].is_array() || !j.contains("r") ||
      !j["r"].is_number_integer() || !j.contains("h") || !j["h"].is_string() || j["k"].size() != keys)
    throw Error("catalog.cursor.invalid", kInvalidInput, "marker: not a cursor this catalog issued",
                {{"field", "marker"}});
  if (j["h"].get<std::string>() != fingerprint)
    throw Error("catalog.cursor.invalid", kInvalidInput,
                "marker: belongs to another query (q, filters and sort must stay the same across pages)",
                {{"field", "marker"}});
  Cursor c;
  for (const auto& k : j["k"]) c.keys.push_back(k);
  c.row = j["r"].get<std::int64_t>();
  return c;
}

}  // namespace beamflow::catalog
