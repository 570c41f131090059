#include "jobs/transfer/endpoints.hpp"

#include <fstream>
#include <iterator>
#include <set>

#include "core/json_parse.hpp"
#include "jobs/transfer/errors.hpp"

namespace beamflow::transfer {

namespace {
bool plain_name(const std::string& n) {
  if (n.empty() || n.size() > 128 || n[0] == '.') return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}
}  // namespace

Endpoints Endpoints::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec))
    throw request_error("transfer.endpoints.unreadable", "the endpoints file cannot be read",
                        {{"file", file.string()}});
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const Json config = parse_json_as(text, file.string(), "transfer.endpoints.invalid", asl::Request,
                                    "the endpoints file", {{"file", file.string()}});
  return from_json(config, std::filesystem::absolute(file).parent_path(), file.string());
}

Endpoints Endpoints::from_json(const Json& config, const std::filesystem::path& base,
                               const std::string& file_label) {
  auto invalid = [&](const std::string& why, const std::string& pointer) {
    return request_error("transfer.endpoints.invalid", why, {{"file", file_label}, {"pointer", pointer}});
  };
  if (!config.is_object() || !config.contains("endpoints") || !config["endpoints"].is_array())
    throw invalid("expected {\"endpoints\": [...]}", "");
  for (const auto& [key, _] : config.items())
    if (key != "endpoints") throw invalid("unknown key \"" + key + "\"", "/" + key);
  Endpoints out;
  std::set<std::string> names;
  const Json& list = config["endpoints"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    const std::string at = "/endpoints/" + std::to_string(i);
    if (!e.is_object()) throw invalid("an endpoint must be an object", at);
    for (const auto& [key, _] : e.items())
      if (key != "name" && key != "path" && key != "read" && key != "write" && key != "description")
        throw invalid("unknown key \"" + key + "\"", at + "/" + key);
    if (!e.contains("name") || !e["name"].is_string() || !plain_name(e["name"].get<std::string>()))
      throw invalid("\"name\" must be a plain name (letters, digits, '-', '_', '.')", at + "/name");
    if (!e.contains("path") || !e["path"].is_string() || e["path"].get<std::string>().empty())
      throw invalid("\"path\" must be a non-empty string", at + "/path");
    for (const char* flag : {"read", "write"})
      if (e.contains(flag) && !e[flag].is_boolean())
        throw invalid(std::string("\"") + flag + "\" must be true or false", at + "/" + flag);
    Endpoint ep;
    ep.name = e["name"].get<std::string>();
    if (!names.insert(ep.name).second) throw invalid("duplicate endpoint name \"" + ep.name + "\"", at + "/name");
    std::filesystem::path root = e["path"].get<std::string>();
    ep.root = (root.is_absolute() ? root : base / root).lexically_normal();
    ep.read = e.value("read", true);
    ep.write = e.value("write", false);
    out.m_endpoints.push_back(std::move(ep));
  }
  return out;
}

const Endpoint& Endpoints::get(const std::string& name) const {
  for (const auto& e : m_endpoints)
    if (e.name == name) return e;
  std::string known;
  for (const auto& e : m_endpoints) known += (known.empty() ? "" : ", ") + e.name;
  throw request_error("transfer.endpoint.unknown", "no endpoint named \"" + name + "\"",
                      {{"endpoint", name}, {"known", known.empty() ? "(none)" : known}});
}

}  // namespace beamflow::transfer
