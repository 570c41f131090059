#include "model_test_support.hpp"

#include <fstream>
#include <random>

#include "../support/process.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "platform/fs.hpp"

namespace beamflow::models::testing {

std::filesystem::path source_dir() { return BEAMFLOW_SOURCE_DIR; }

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int shell(const std::string& command, std::string* output) {
  test::ProcessOptions options;
  options.merge_stderr = true;
  const test::ProcessResult r = test::run_shell(command, options);
  if (output) *output = r.out;
  return r.signal ? -1 : r.exit_code;
}

int python(const std::string& code, const std::vector<std::string>& args, std::string* output) {
  test::ProcessOptions options;
  options.merge_stderr = true;
  options.env = {{"PYTHONPATH", (source_dir() / "tools").string()}};
  std::vector<std::string> argv{"/usr/bin/python3", "-c", code};
  argv.insert(argv.end(), args.begin(), args.end());
  const test::ProcessResult r = test::run_process(argv, options);
  if (output) *output = r.out;
  return r.signal ? -1 : r.exit_code;
}

std::filesystem::path script_data(const std::string& script, const std::vector<std::string>& inputs) {
  const std::filesystem::path root = std::filesystem::path(BEAMFLOW_MODELS_TEST_DATA) /
                                     std::filesystem::path(script).stem();
  std::filesystem::create_directories(root);
  std::string sources = fs::read_file(source_dir() / script);
  for (const auto& f : inputs) sources += fs::read_file(source_dir() / f);
  const std::string stamp = sha256_hex(sources);
  // Another test process may be making it: wait for its lock.
  const fs::FileLock lock = fs::FileLock::acquire(root / "lock");
  const auto data = root / "reference";
  std::error_code ec;
  if (std::filesystem::exists(root / "stamp") && fs::read_file(root / "stamp") == stamp) return data;
  std::filesystem::remove_all(data, ec);
  std::filesystem::create_directories(data);
  std::string output;
  const int rc = shell("/usr/bin/python3 " + quote((source_dir() / script).string()) + " " + quote(data.string()),
                       &output);
  if (rc != 0) throw std::runtime_error(script + " failed:\n" + output);
  fs::write_file_atomic(root / "stamp", stamp);
  return data;
}

const std::filesystem::path& reference_dir() {
  static const std::filesystem::path dir =
      script_data("tests/models/sklearn_reference.py", {"tools/export_forest.py"});
  return dir;
}

TempDir::TempDir() {
  std::random_device rd;
  m_path = std::filesystem::temp_directory_path() /
           ("beamflow-models-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(m_path);
}

TempDir::~TempDir() {
  std::error_code ec;
  // Published files are read-only; their directories are not, so this works.
  std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path copy_reference_model(const std::string& name, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const char* f : {"forest.h5", "metadata.json"})
    std::filesystem::copy_file(reference_dir() / name / f, dir / f,
                               std::filesystem::copy_options::overwrite_existing);
  return dir;
}

Json read_json(const std::filesystem::path& file) { return Json::parse(fs::read_file(file)); }

void write_json(const std::filesystem::path& file, const Json& j) {
  std::ofstream(file, std::ios::trunc) << j.dump(1);
}


std::vector<std::string> visible_entries(const std::filesystem::path& repo) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo, ec)) {
    const auto rel = std::filesystem::relative(e.path(), repo).string();
    if (rel.rfind(".staging", 0) != 0) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace beamflow::models::testing
