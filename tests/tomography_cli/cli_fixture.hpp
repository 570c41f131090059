#pragma once
// Driving `beamflow` (BEAMFLOW_BINARY) from tests: a scratch directory,
// commands with their exit code and output, and the volumes they write.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/tomography/quality.hpp"

namespace beamflow::jobs::testing {

struct Ran {
  int code = -1;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  CliTest();
  ~CliTest() override;
  std::filesystem::path path(const std::string& name) const { return m_dir / name; }
  // Runs `beamflow ARGS` (through `mpirun -np RANKS` when ranks > 0), with
  // `env` (NAME=VALUE ...) prepended, in the scratch directory.
  Ran beamflow(const std::string& args, int ranks = 0, const std::string& env = "") const;
  // Runs any shell command in the scratch directory.
  Ran shell(const std::string& command) const;
  // `beamflow phantom --output NAME ARGS`; the truth JSON.
  Json phantom(const std::string& name, const std::string& args) const;

 private:
  std::filesystem::path m_dir;
};

// The slices of a volume file, and its done flags.
std::vector<float> volume(const std::filesystem::path& file);
std::vector<std::uint8_t> done_flags(const std::filesystem::path& file);

}  // namespace beamflow::jobs::testing
