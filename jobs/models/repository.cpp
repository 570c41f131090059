#include "jobs/models/repository.hpp"
#include "core/json_parse.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>
#include <system_error>

#include "jobs/models/errors.hpp"
#include "platform/fs.hpp"
#include "run/paths.hpp"

namespace beamflow::models {

Repository::Repository(std::filesystem::path root) : m_root(std::move(root)) {}

Repository Repository::open(const std::optional<std::string>& override_dir) {
  if (override_dir && !override_dir->empty()) return Repository(*override_dir);
  if (const char* env = std::getenv("BEAMFLOW_MODEL_REPO"); env && *env) return Repository(env);
  return Repository(run::beamflow_home() / "models");
}

namespace {

std::vector<ModelRecord> versions_in(const std::filesystem::path& name_dir, const std::string& name) {
  std::vector<ModelRecord> out;
  std::error_code ec;
  for (const auto& v : std::filesystem::directory_iterator(name_dir, ec)) {
    auto version = SemVer::parse(v.path().filename().string());
    if (!version || !std::filesystem::is_regular_file(v.path() / "metadata.json", ec)) continue;
    out.push_back({name, *version, v.path()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<ModelRecord> Repository::list() const {
  std::vector<ModelRecord> out;
  std::error_code ec;
  std::vector<std::filesystem::path> names;
  for (const auto& e : std::filesystem::directory_iterator(m_root, ec))
    if (e.is_directory(ec) && valid_model_name(e.path().filename().string())) names.push_back(e.path());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto v = versions_in(n, n.filename().string());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

ModelRecord Repository::find(const ModelRef& ref) const {
  const auto versions = versions_in(m_root / ref.name, ref.name);
  if (versions.empty())
    throw model_error("model.not_found", model_asl::NotFound,
                      "no model named '" + ref.name + "' in the repository",
                      {{"model", ref.str()}, {"repo", m_root.string()}});
  if (!ref.version) return versions.back();
  const auto wanted = SemVer::parse(*ref.version);
  for (const auto& v : versions)
    if (wanted && v.version == *wanted) return v;
  std::string known;
  for (const auto& v : versions) known += (known.empty() ? "" : ", ") + v.version.text;
  throw model_error("model.version_not_found", model_asl::NotFound,
                    "model '" + ref.name + "' has no version " + *ref.version + " (published: " + known + ")",
                    {{"model", ref.str()}, {"repo", m_root.string()}});
}

Json Repository::read_metadata(const ModelRecord& record) const {
  const auto file = record.dir / "metadata.json";
  Json meta;
  try {
    meta = parse_json_keep_syntax_errors(fs::read_file(file), file.string());
  } catch (const Json::parse_error& e) {
    throw model_error("model.metadata.corrupt", model_asl::Corrupt,
                      std::string("stored metadata is not valid JSON: ") + e.what(),
                      {{"file", file.string()}});
  }
  const auto problems = check_metadata(meta);
  if (!problems.empty())
    throw model_error(
        "model.metadata.corrupt", model_asl::Corrupt,
        "stored metadata breaks the schema: " + problems.front().pointer + ": " + problems.front().message,
        {{"file", file.string()}});
  if (meta["/dlhub/name"_json_pointer] != record.name ||
      meta["/datacite/version"_json_pointer] != record.version.text)
    throw model_error("model.metadata.corrupt", model_asl::Corrupt,
                      "stored metadata names another model or version than its directory",
                      {{"file", file.string()}});
  return meta;
}

std::shared_ptr<const Model> Repository::load(const ModelRef& ref) const {
  const ModelRecord record = find(ref);
  return Model::load(record.dir, read_metadata(record));
}

std::vector<ModelSummary> Repository::search(const SearchQuery& query) const {
  std::vector<std::string> words;
  std::istringstream in(lower(query.text));
  for (std::string w; in >> w;) words.push_back(w);
  // The latest version of each model speaks for it.
  std::map<std::string, ModelRecord> latest;
  for (auto& r : list()) latest.insert_or_assign(r.name, r);
  std::vector<ModelSummary> out;
  for (const auto& [name, record] : latest) {
    ModelSummary s;
    try {
      s = ModelSummary::of(read_metadata(record));
    } catch (const Error&) {
      continue;  // a damaged entry is reported by describe/run, not by search
    }
    std::string text = lower(s.name + "\n" + s.title + "\n" + s.description);
    for (const auto& a : s.authors) text += "\n" + lower(a);
    for (const auto& d : s.domains) text += "\n" + lower(d);
    if (!std::all_of(words.begin(), words.end(),
                     [&](const auto& w) { return text.find(w) != std::string::npos; }))
      continue;
    if (query.domain && std::none_of(s.domains.begin(), s.domains.end(),
                                     [&](const auto& d) { return lower(d) == lower(*query.domain); }))
      continue;
    if (query.input_type && lower(s.input_type).find(lower(*query.input_type)) == std::string::npos) continue;
    if (query.format && s.format != *query.format) continue;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace beamflow::models
