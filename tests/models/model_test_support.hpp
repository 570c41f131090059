#pragma once
// Shared by the model-hub tests: scikit-learn reference data made at test
// time (once per build: cached under the build tree, keyed by the sha256 of
// the scripts that make it), Python helpers, and error expectations.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../support/expect_error.hpp"
#include "core/json.hpp"
#include "jobs/models/repository.hpp"
#include "jobs/models/tensor.hpp"

namespace beamflow::models::testing {

std::filesystem::path source_dir();
// The directory `script` (relative to the source tree; run as
// `python3 SCRIPT OUT_DIR`) filled, made again when it or one of `inputs`
// changes.
std::filesystem::path script_data(const std::string& script, const std::vector<std::string>& inputs = {});
// The directory sklearn_reference.py filled: reference.h5 and one exported
// model directory per kind (rf_classifier, gb_multiclass, ...).
const std::filesystem::path& reference_dir();

// Runs `/usr/bin/python3 -c CODE` (argv after it: ARGS) with
// tools/ on the path; returns the exit code, stdout+stderr in `output`.
int python(const std::string& code, const std::vector<std::string>& args = {}, std::string* output = nullptr);

// Runs a shell command; returns the exit code, stdout+stderr in `output`.
int shell(const std::string& command, std::string* output = nullptr);
std::string quote(const std::string& s);

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// Copies reference model `name` (forest.h5 + metadata.json) into `dir`.
std::filesystem::path copy_reference_model(const std::string& name, const std::filesystem::path& dir);
Json read_json(const std::filesystem::path& file);
void write_json(const std::filesystem::path& file, const Json& j);

using beamflow::test::expect_error;  // tests/support/expect_error.hpp

// Entries of `repo` other than the hidden staging area: what readers see.
std::vector<std::string> visible_entries(const std::filesystem::path& repo);

}  // namespace beamflow::models::testing
