#include "jobs/transfer/request.hpp"

#include <fnmatch.h>

#include "jobs/transfer/errors.hpp"

namespace beamflow::transfer {

using platform::digest::Algorithm;
using platform::digest::Hasher;
using platform::digest::parse_algorithm;

namespace {

Error invalid(const std::string& why, const std::string& pointer) {
  return request_error("transfer.request.invalid", why, {{"pointer", pointer}});
}

void only_keys(const Json& object, std::initializer_list<const char*> keys, const std::string& at) {
  for (const auto& [key, _] : object.items()) {
    if (key == "DATA_TYPE") continue;
    bool known = false;
    for (const char* k : keys) known = known || key == k;
    if (!known) throw invalid("unknown key \"" + key + "\"", at + "/" + key);
  }
}

std::string string_field(const Json& o, const char* key, const std::string& at, bool required) {
  if (!o.contains(key)) {
    if (required) throw invalid(std::string("\"") + key + "\" is required", at + "/" + key);
    return {};
  }
  if (!o[key].is_string()) throw invalid(std::string("\"") + key + "\" must be a string", at + "/" + key);
  return o[key].get<std::string>();
}

bool bool_field(const Json& o, const char* key, bool fallback, const std::string& at) {
  if (!o.contains(key)) return fallback;
  if (!o[key].is_boolean()) throw invalid(std::string("\"") + key + "\" must be true or false", at + "/" + key);
  return o[key].get<bool>();
}

std::string sha256_hex(const std::string& text) {
  Hasher h(Algorithm::Sha256);
  h.update(text.data(), text.size());
  return h.finish().substr(7);  // without "sha256:"
}

}  // namespace

const char* to_string(SyncLevel s) noexcept {
  switch (s) {
    case SyncLevel::Exists: return "exists";
    case SyncLevel::Size: return "size";
    case SyncLevel::Mtime: return "mtime";
    case SyncLevel::Checksum: return "checksum";
  }
  return "?";
}

std::string checked_relative(const std::string& path, const std::string& field, bool allow_root) {
  auto escapes = [&](const std::string& why) {
    return Error("transfer.path.escapes", asl::Path, why, {{"field", field}, {"path", path}});
  };
  if (path.find('\0') != std::string::npos) throw escapes("a path must not contain NUL");
  if (!path.empty() && path[0] == '/')
    throw escapes("absolute paths are refused: paths are relative to the endpoint root");
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") throw escapes("\"..\" would leave the endpoint root");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  if (out.empty() && !allow_root) throw escapes("the path names the endpoint root itself, not a file");
  return out;
}

TransferRequest parse_request(const Json& j) {
  if (!j.is_object()) throw invalid("a transfer request must be a JSON object", "");
  only_keys(j,
            {"source_endpoint", "destination_endpoint", "transfer_items", "DATA", "sync_level", "verify_checksum",
             "preserve_timestamp", "delete_destination_extra", "submission_id", "filter_rules",
             "checksum_algorithm", "chunk_size", "label"},
            "");
  TransferRequest r;
  r.source_endpoint = string_field(j, "source_endpoint", "", true);
  r.destination_endpoint = string_field(j, "destination_endpoint", "", true);
  const char* items_key = j.contains("transfer_items") ? "transfer_items" : "DATA";
  if (!j.contains(items_key) || !j[items_key].is_array() || j[items_key].empty())
    throw invalid("\"transfer_items\" must be a non-empty array", "/transfer_items");
  const Json& items = j[items_key];
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string at = std::string("/") + items_key + "/" + std::to_string(i);
    const Json& it = items[i];
    if (!it.is_object()) throw invalid("a transfer item must be an object", at);
    only_keys(it, {"source_path", "destination_path", "recursive"}, at);
    TransferItem item;
    item.recursive = bool_field(it, "recursive", false, at);
    item.source_path =
        checked_relative(string_field(it, "source_path", at, true), at + "/source_path", item.recursive);
    item.destination_path =
        checked_relative(string_field(it, "destination_path", at, true), at + "/destination_path", item.recursive);
    r.items.push_back(std::move(item));
  }
  if (j.contains("sync_level") && !j["sync_level"].is_null()) {
    const Json& s = j["sync_level"];
    if (s.is_number_integer() && s.get<int>() >= 0 && s.get<int>() <= 3)
      r.sync_level = static_cast<SyncLevel>(s.get<int>());
    else if (s.is_string()) {
      const std::string v = s.get<std::string>();
      for (auto level : {SyncLevel::Exists, SyncLevel::Size, SyncLevel::Mtime, SyncLevel::Checksum})
        if (v == to_string(level)) r.sync_level = level;
    }
    if (!r.sync_level) throw invalid("\"sync_level\" must be exists, size, mtime, checksum or 0..3", "/sync_level");
  }
  r.verify_checksum = bool_field(j, "verify_checksum", true, "");
  r.preserve_timestamp = bool_field(j, "preserve_timestamp", false, "");
  r.delete_destination_extra = bool_field(j, "delete_destination_extra", false, "");
  r.submission_id = string_field(j, "submission_id", "", false);
  if (!r.submission_id.empty()) {
    bool plain = r.submission_id.size() <= 128 && r.submission_id[0] != '.';
    for (char c : r.submission_id)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!plain) throw invalid("\"submission_id\" must be a plain name (letters, digits, '-', '_', '.')", "/submission_id");
  }
  if (j.contains("checksum_algorithm")) {
    const auto a = j["checksum_algorithm"].is_string()
                       ? parse_algorithm(j["checksum_algorithm"].get<std::string>())
                       : std::nullopt;
    if (!a) throw invalid("\"checksum_algorithm\" must be xxh128 or sha256", "/checksum_algorithm");
    r.checksum_algorithm = *a;
  }
  if (j.contains("chunk_size")) {
    const Json& c = j["chunk_size"];
    if (!c.is_number_integer() || c.get<std::int64_t>() < 4096 || c.get<std::int64_t>() > (std::int64_t{1} << 34))
      throw invalid("\"chunk_size\" must be an integer from 4096 to 2^34 bytes", "/chunk_size");
    r.chunk_size = c.get<std::uint64_t>();
  }
  if (j.contains("filter_rules")) {
    if (!j["filter_rules"].is_array()) throw invalid("\"filter_rules\" must be an array", "/filter_rules");
    for (std::size_t i = 0; i < j["filter_rules"].size(); ++i) {
      const std::string at = "/filter_rules/" + std::to_string(i);
      const Json& f = j["filter_rules"][i];
      if (!f.is_object()) throw invalid("a filter rule must be an object", at);
      only_keys(f, {"method", "name", "type"}, at);
      FilterRule rule;
      const std::string method = string_field(f, "method", at, true);
      if (method != "include" && method != "exclude")
        throw invalid("\"method\" must be include or exclude", at + "/method");
      rule.include = method == "include";
      rule.name = string_field(f, "name", at, true);
      if (rule.name.empty() || rule.name.find('/') != std::string::npos)
        throw invalid("\"name\" must be a glob on a file or folder name (no '/')", at + "/name");
      const std::string type = string_field(f, "type", at, false);
      if (type == "file")
        rule.type = FilterRule::Type::File;
      else if (type == "dir")
        rule.type = FilterRule::Type::Dir;
      else if (!type.empty())
        throw invalid("\"type\" must be file or dir", at + "/type");
      r.filter_rules.push_back(std::move(rule));
    }
  }
  return r;
}

Json TransferRequest::to_json() const {
  Json items = Json::array();
  for (const auto& i : this->items)
    items.push_back({{"source_path", i.source_path}, {"destination_path", i.destination_path}, {"recursive", i.recursive}});
  Json rules = Json::array();
  for (const auto& f : filter_rules)
    rules.push_back({{"method", f.include ? "include" : "exclude"},
                     {"name", f.name},
                     {"type", f.type == FilterRule::Type::File  ? "file"
                              : f.type == FilterRule::Type::Dir ? "dir"
                                                                : "any"}});
  Json j{{"source_endpoint", source_endpoint},
         {"destination_endpoint", destination_endpoint},
         {"transfer_items", items},
         {"sync_level", sync_level ? Json(to_string(*sync_level)) : Json()},
         {"verify_checksum", verify_checksum},
         {"preserve_timestamp", preserve_timestamp},
         {"delete_destination_extra", delete_destination_extra},
         {"filter_rules", rules},
         {"checksum_algorithm", platform::digest::to_string(checksum_algorithm)},
         {"chunk_size", chunk_size}};
  if (!submission_id.empty()) j["submission_id"] = submission_id;
  return j;
}

std::string TransferRequest::fingerprint() const {
  Json j = to_json();
  j.erase("submission_id");
  return sha256_hex(j.dump());
}

std::string TransferRequest::effective_id() const {
  return submission_id.empty() ? "t-" + fingerprint().substr(0, 16) : submission_id;
}

bool TransferRequest::included(const std::string& name, bool is_dir) const {
  for (const auto& rule : filter_rules) {
    if (rule.type == FilterRule::Type::File && is_dir) continue;
    if (rule.type == FilterRule::Type::Dir && !is_dir) continue;
    if (fnmatch(rule.name.c_str(), name.c_str(), 0) == 0) return rule.include;
  }
  return true;
}

}  // namespace beamflow::transfer
