#include "jobs/catalog/entry.hpp"

#include <cmath>

#include "core/time.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

// Long texts (descriptions) are for free text, not for exact filters.
constexpr std::size_t kMaxFieldText = 256;

std::string number_text(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  const double d = v.get<double>();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return v.dump();
}

// `path` is one buffer for the whole walk: a key is appended on the way
// down and cut off on the way up (no string made per key and level).
void flatten(const Json& v, std::string& path, IndexTerms& out) {
  switch (v.type()) {
    case Json::value_t::object:
      for (const auto& [k, sub] : v.items()) {
        const std::size_t len = path.size();
        if (len) path += '.';
        path += k;
        flatten(sub, path, out);
        path.resize(len);
      }
      break;
    case Json::value_t::array:
      for (const auto& sub : v) flatten(sub, path, out);
      break;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.size() <= kMaxFieldText) {
        IndexedField f{path, s, false, 0};
        if (auto days = iso_days(s)) {
          f.has_number = true;
          f.number = static_cast<double>(*days);
        }
        out.fields.push_back(std::move(f));
      }
      append_tokens(s, out.text);
      break;
    }
    case Json::value_t::boolean:
      out.fields.push_back({path, v.get<bool>() ? "true" : "false", false, 0});
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      out.fields.push_back({path, number_text(v), true, v.get<double>()});
      break;
    default:
      break;
  }
}

// The values of `field` below `path` as flatten lists them (numbers only
// with `numbers`): descends only into keys on the way to `field` (paths
// join keys with dots exactly as flatten does, so a key holding a dot is
// found too).
void collect_texts(const Json& v, const std::string& path, const std::string& field, bool numbers,
                   std::vector<std::string>& out) {
  switch (v.type()) {
    case Json::value_t::object:
      for (const auto& [k, sub] : v.items()) {
        const std::string p = path.empty() ? k : path + "." + k;
        if (field.size() >= p.size() && field.compare(0, p.size(), p) == 0 &&
            (field.size() == p.size() || field[p.size()] == '.'))
          collect_texts(sub, p, field, numbers, out);
      }
      break;
    case Json::value_t::array:
      for (const auto& sub : v) collect_texts(sub, path, field, numbers, out);
      break;
    case Json::value_t::string:
      if (path == field && v.get_ref<const std::string&>().size() <= kMaxFieldText)
        out.push_back(v.get<std::string>());
      break;
    case Json::value_t::boolean:
      if (path == field) out.push_back(v.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      if (numbers && path == field) out.push_back(number_text(v));
      break;
    default:
      break;
  }
}

// The catalog's own fields, which filter and facet like the content's.
void add_own_fields(const Entry& entry, std::vector<IndexedField>& out) {
  out.push_back({"identifier", entry.identifier, false, 0});
  out.push_back({"collection", entry.collection, false, 0});
  out.push_back({"version", std::to_string(entry.version), true, static_cast<double>(entry.version)});
  out.push_back({"owner", entry.owner, false, 0});
  const std::string published = format_time_ms(entry.published_ms);
  out.push_back({"published", published, true, static_cast<double>(*iso_days(published))});
}

}  // namespace

std::vector<std::string> text_values(const Json& content, const std::string& field) {
  std::vector<std::string> out;
  if (!field.empty()) collect_texts(content, "", field, false, out);
  return out;
}

std::vector<std::string> field_values(const Entry& entry, const std::string& field) {
  std::vector<std::string> out;
  if (field.empty()) return out;
  collect_texts(entry.content, "", field, true, out);
  std::vector<IndexedField> own;
  add_own_fields(entry, own);
  for (auto& f : own)
    if (f.field == field) out.push_back(std::move(f.text));
  return out;
}

const char* to_string(EntryStatus s) noexcept {
  switch (s) {
    case EntryStatus::Pending: return "pending";
    case EntryStatus::Published: return "published";
    case EntryStatus::Rejected: return "rejected";
    case EntryStatus::Withdrawn: return "withdrawn";
  }
  return "unknown";
}

EntryStatus status_from_string(const std::string& s) {
  if (s == "pending") return EntryStatus::Pending;
  if (s == "published") return EntryStatus::Published;
  if (s == "rejected") return EntryStatus::Rejected;
  if (s == "withdrawn") return EntryStatus::Withdrawn;
  fail("catalog.db", "unknown entry status '" + s + "' in the catalog");
}

IndexTerms index_terms(const Entry& entry) {
  IndexTerms t;
  // Room for a typical entry's fields and words at once (a DataCite record
  // with a few domain fields: ~20 values, a few hundred bytes of words), not
  // grown through a reallocation (and move of every field) at each doubling.
  t.fields.reserve(32);
  t.text.reserve(512);
  static const Json kNoDc = Json::object();
  const auto dc_it = entry.content.is_object() ? entry.content.find("dc") : entry.content.end();
  const Json& dc = dc_it != entry.content.end() ? *dc_it : kNoDc;  // a reference: no copy per entry
  if (dc.contains("titles") && dc["titles"].is_array() && !dc["titles"].empty())
    t.title = dc["titles"][0].value("title", "");
  if (auto y = dc.find("publicationYear"); y != dc.end())
    t.year = y->is_string() ? std::atoi(y->get<std::string>().c_str()) : y->get<int>();
  std::string path;
  flatten(entry.content, path, t);
  add_own_fields(entry, t.fields);
  for (auto& tok : tokens(entry.identifier)) t.text += " " + tok;
  return t;
}

Json entry_document(const Entry& e) {
  Json doc = e.content;
  doc["identifier"] = e.identifier;
  doc["version"] = e.version;
  doc["collection"] = e.collection;
  doc["status"] = to_string(e.status);
  doc["owner"] = e.owner;
  doc["visible_to"] = e.visible_to;
  doc["files"] = e.files;
  doc["bytes"] = e.bytes;
  doc["published"] = format_time_ms(e.published_ms);
  doc["location"] = e.location;
  doc["manifest_sha256"] = e.manifest_digest;
  if (!e.reason.empty()) doc["reason"] = e.reason;
  if (!e.decided_by.empty()) doc["decided_by"] = e.decided_by;
  return doc;
}

}  // namespace beamflow::catalog
