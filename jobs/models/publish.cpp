// Repository::publish: complete and check the metadata, stage the files in
// a private directory inside the repository, load the model from there and
// run its validation vectors, then rename the directory into NAME/VERSION.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <system_error>

#include "core/hash.hpp"
#include "core/json_parse.hpp"
#include "platform/checksum.hpp"
#include "jobs/models/errors.hpp"
#include "jobs/models/repository.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::models {

namespace {

Error publish_error(const std::string& id, const std::string& message, Error::Context context) {
  return model_error(id, id == "model.publish.exists" ? model_asl::AlreadyPublished : model_asl::IO, message,
                     std::move(context));
}

Error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  return publish_error("model.publish.io", what + ": " + std::strerror(err), {{"file", path.string()}});
}

// Owner-only like everything under $BEAMFLOW_HOME (0700 whatever the umask).
void private_directories(const std::filesystem::path& dir, const std::string& what) {
  try {
    fs::create_private_directories(dir, "model.publish.io");
  } catch (const Error& e) {
    throw publish_error("model.publish.io", "cannot create " + what + ": " + e.message(), {{"file", dir.string()}});
  }
}

// Test hook: BEAMFLOW_TEST_PUBLISH_ABORT=<point> kills the process there, so
// tests can show a publish cut short leaves no model behind.
void abort_point(const char* point) {
  const char* at = std::getenv("BEAMFLOW_TEST_PUBLISH_ABORT");
  if (at && std::strcmp(at, point) == 0) ::raise(SIGKILL);
}

void fsync_file(const std::filesystem::path& file) {
  fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) throw io_error("cannot fsync", file, errno);
}

// The staging directory; removed unless it was renamed into place. Its
// publisher holds a flock on NAME.lock beside it for as long as it lives,
// so a directory whose lock nobody holds was left by a publish killed
// midway; each new publish removes those (where the file system honours
// flock; elsewhere they stay, unread and harmless).
class Staging {
 public:
  Staging(const std::filesystem::path& root, const std::string& tag) {
    const auto base = root / ".staging";
    // Owner-only like everything under $BEAMFLOW_HOME (docs/errors.md, run.home_shared).
    private_directories(base, "the repository's staging directory");
    sweep_abandoned(base);
    std::random_device rd;
    for (;;) {  // a sweeper may hold a fresh name's lock for a moment: take another name
      const std::string name = tag + "." + std::to_string(::getpid()) + "." + std::to_string(rd());
      auto lock = fs::FileLock::try_acquire(base / (name + ".lock"));
      if (!lock) continue;
      m_lock = std::move(*lock);
      m_lock_file = base / (name + ".lock");
      m_dir = base / name;
      break;
    }
    if (::mkdir(m_dir.c_str(), 0700) != 0) throw io_error("cannot create a staging directory", m_dir, errno);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  ~Staging() {
    std::error_code ec;
    if (!m_dir.empty()) std::filesystem::remove_all(m_dir, ec);
    std::filesystem::remove(m_lock_file, ec);
  }
  const std::filesystem::path& dir() const noexcept { return m_dir; }
  void released() noexcept { m_dir.clear(); }

 private:
  static void sweep_abandoned(const std::filesystem::path& base) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
      const auto& lock_file = entry.path();
      if (lock_file.extension() != ".lock") continue;
      try {
        const auto lock = fs::FileLock::try_acquire(lock_file);
        if (!lock) continue;  // its publish is running
        std::error_code ignored;
        std::filesystem::remove_all(base / lock_file.stem(), ignored);
        std::filesystem::remove(lock_file, ignored);
      } catch (const Error&) {
        // unreadable leftovers are not this publish's problem
      }
    }
  }

  std::optional<fs::FileLock> m_lock;
  std::filesystem::path m_lock_file;
  std::filesystem::path m_dir;
};

// What the source offers: its files (name -> path) and its metadata.
struct Source {
  std::map<std::string, std::filesystem::path> files;
  Json metadata = Json::object();
};

Source read_source(const PublishRequest& request) {
  Source s;
  std::error_code ec;
  const auto& p = request.source;
  if (std::filesystem::is_directory(p, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file(ec) && name != "metadata.json" && name[0] != '.') s.files[name] = e.path();
    }
    if (!request.metadata && std::filesystem::is_regular_file(p / "metadata.json", ec)) {
      try {
        s.metadata = parse_json_keep_syntax_errors(fs::read_file(p / "metadata.json"), (p / "metadata.json").string());
      } catch (const Json::parse_error& e) {
        throw model_error("model.metadata.invalid", model_asl::InvalidMetadata,
                          std::string("metadata.json is not valid JSON: ") + e.what(),
                          {{"file", (p / "metadata.json").string()}, {"field", "/"}});
      }
    }
  } else if (std::filesystem::is_regular_file(p, ec)) {
    s.files[p.filename().string()] = p;
  } else {
    throw publish_error("model.publish.source", "nothing to publish: not a model file or directory",
                        {{"file", p.string()}});
  }
  if (request.metadata) s.metadata = *request.metadata;
  return s;
}

// Ensures j[key] is an object when absent; leaves other values for the
// schema check to report.
Json& section(Json& j, const char* key) {
  if (!j.contains(key)) j[key] = Json::object();
  return j[key];
}

// Fills what the request and the files determine: name, version, model
// file, format and the sha256 of every file.
void complete(Json& meta, const Source& source, const PublishRequest& request) {
  if (!meta.is_object()) return;  // reported by the schema check
  Json& dlhub = section(meta, "dlhub");
  Json& datacite = section(meta, "datacite");
  Json& b = section(meta, "beamflow");
  if (!dlhub.is_object() || !datacite.is_object() || !b.is_object()) return;
  if (request.name) dlhub["name"] = *request.name;
  if (request.version) datacite["version"] = *request.version;
  if (!datacite.contains("version")) datacite["version"] = "1.0.0";
  if (!dlhub.contains("type")) dlhub["type"] = "servable";
  if (!dlhub.contains("visible_to")) dlhub["visible_to"] = Json::array();
  if (!datacite.contains("titles") && dlhub.contains("name"))
    datacite["titles"] = {{{"title", dlhub["name"]}}};
  if (!b.contains("model_file")) {
    std::vector<std::string> models;
    for (const auto& [name, path] : source.files)
      if (detect_format(path)) models.push_back(name);
    if (models.size() != 1) {
      std::string known;
      for (const auto& f : model_formats()) known += (known.empty() ? "" : ", ") + f.name;
      throw publish_error("model.publish.source",
                          models.empty() ? "no model file found (formats this build runs: " + known + ")"
                                         : "several model files (" + models[0] + ", " + models[1] +
                                               "...): name one in beamflow.model_file",
                          {{"file", request.source.string()}});
    }
    b["model_file"] = models[0];
  }
  if (!b.contains("format") && b["model_file"].is_string()) {
    const auto it = source.files.find(b["model_file"].get<std::string>());
    const ModelFormat* f = it == source.files.end() ? nullptr : detect_format(it->second);
    if (f) b["format"] = f->name;
  }
  Json& files = section(b, "files");
  if (!files.is_object()) return;
  for (const auto& [name, hash] : files.items())
    if (!source.files.count(name))
      throw model_error("model.file.missing", model_asl::Corrupt,
                        "the metadata lists a file the source does not have",
                        {{"file", name}, {"field", "/beamflow/files/" + name}});
  for (const auto& [name, path] : source.files) {
    const std::string actual = platform::sha256_file(path);
    if (files.contains(name) && files[name].is_string() && files[name] != actual)
      throw model_error("model.file.checksum", model_asl::Corrupt,
                        "file does not match the sha256 in the metadata (corrupted or truncated): expected " +
                            files[name].get<std::string>() + ", found " + actual,
                        {{"file", path.string()}});
    files[name] = actual;
  }
}

// Copies the files into the staging directory, read-only and fsynced, and
// checks each copy against the sha256 of its source.
void stage_files(const Source& source, const Json& meta, const std::filesystem::path& dir) {
  for (const auto& [name, hash] : meta["beamflow"]["files"].items()) {
    const auto& from = source.files.at(name);
    const auto target = dir / name;
    std::error_code ec;
    std::filesystem::copy_file(from, target, ec);
    if (ec) throw io_error("cannot copy into the repository", from, ec.value());
    if (platform::sha256_file(target) != hash.get<std::string>())
      throw model_error("model.file.checksum", model_asl::Corrupt,
                        "file changed while it was being published", {{"file", from.string()}});
    std::filesystem::permissions(target,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                     std::filesystem::perms::others_read,
                                 ec);
    fsync_file(target);
  }
}

[[noreturn]] void spec_mismatch(const std::string& pointer, const TensorSpec& declared,
                                const TensorSpec& actual) {
  throw model_error("model.metadata.invalid", model_asl::InvalidMetadata,
                    "invalid model metadata: " + pointer + ": declares " + dtype_name(declared.dtype) + " " +
                        declared.shape_string() + " but the model file has " + dtype_name(actual.dtype) +
                        " " + actual.shape_string(),
                    {{"field", pointer}});
}

// Fills servable.methods.run from the runtime, or checks what the metadata
// declares agrees with the model file.
void complete_signature(Json& meta, const Model& model) {
  Json& servable = section(meta, "servable");
  const Signature& sig = model.runtime().signature();
  if (!servable.contains("type")) servable["type"] = model.runtime().describe().value("kind", "model");
  Json& methods = section(servable, "methods");
  Json& run = section(methods, "run");
  const std::string p = "/servable/methods/run";
  if (!run.contains("input")) {
    run["input"] = model.preprocessor() ? model.preprocessor()->input_spec() : sig.input.to_json();
  } else if (!model.preprocessor()) {
    const TensorSpec declared = TensorSpec::from_json(run["input"], p + "/input");
    if (declared.dtype != sig.input.dtype || declared.shape != sig.input.shape)
      spec_mismatch(p + "/input", declared, sig.input);
  }
  if (!run.contains("output")) {
    run["output"] = sig.output.to_json();
  } else {
    const TensorSpec declared = TensorSpec::from_json(run["output"], p + "/output");
    if (declared.dtype != sig.output.dtype || declared.shape != sig.output.shape)
      spec_mismatch(p + "/output", declared, sig.output);
    const auto& shape = sig.output.shape;
    if (!declared.labels.empty() && shape.size() == 2 && shape[1] &&
        static_cast<std::int64_t>(declared.labels.size()) != *shape[1])
      throw model_error("model.metadata.invalid", model_asl::InvalidMetadata,
                        "invalid model metadata: " + p +
                            "/output/labels: " + std::to_string(declared.labels.size()) + " labels for " +
                            std::to_string(*shape[1]) + " output columns",
                        {{"field", p + "/output/labels"}});
  }
  if (!run.contains("method_details")) run["method_details"] = {{"method_name", sig.method}};
  const Json described = model.runtime().describe();
  if (!meta["beamflow"].contains("opset") && described.contains("opset"))
    meta["beamflow"]["opset"] = described["opset"];
}

// Renames `from` to `to` unless `to` exists. RENAME_NOREPLACE where the file
// system has it; elsewhere rename(2) itself refuses a non-empty target, and
// a published version is never empty.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

}  // namespace

ModelRecord Repository::publish(const PublishRequest& request) const {
  const Source source = read_source(request);
  Json meta = source.metadata;
  complete(meta, source, request);
  require_valid_metadata(meta);
  if (!meta["beamflow"]["files"].contains(meta["beamflow"]["model_file"].get<std::string>()))
    throw model_error(
        "model.file.missing", model_asl::Corrupt, "the model file is not among the files published",
        {{"file", meta["beamflow"]["model_file"].get<std::string>()}, {"field", "/beamflow/model_file"}});
  const std::string name = meta["/dlhub/name"_json_pointer].get<std::string>();
  const std::string version = meta["/datacite/version"_json_pointer].get<std::string>();
  const Error::Context where{{"model", name + "@" + version}, {"repo", m_root.string()}};
  const auto final_dir = m_root / name / version;
  std::error_code ec;
  if (std::filesystem::exists(final_dir, ec))
    throw publish_error("model.publish.exists",
                        name + "@" + version + " is already published (versions are immutable)", where);

  Staging staging(m_root, name + "@" + version);
  stage_files(source, meta, staging.dir());
  abort_point("after-copy");
  const auto staged = Model::load(staging.dir(), meta);
  complete_signature(meta, *staged);
  meta["dlhub"]["publication_date"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  require_valid_metadata(meta);
  run_validation_vectors(*staged);
  fs::write_file_atomic(staging.dir() / "metadata.json", meta.dump(1) + "\n");
  fs::sync_directory(staging.dir());
  abort_point("before-rename");

  private_directories(m_root / name, "the model's directory");
  if (const int err = rename_no_replace(staging.dir(), final_dir)) {
    if (err == EEXIST || err == ENOTEMPTY)
      throw publish_error(
          "model.publish.exists",
          name + "@" + version + " is already published (another publisher won; versions are immutable)",
          where);
    throw io_error("cannot move the staged model into place", final_dir, err);
  }
  staging.released();
  fs::sync_directory(m_root / name);
  return ModelRecord{name, *SemVer::parse(version), final_dir};
}

}  // namespace beamflow::models
