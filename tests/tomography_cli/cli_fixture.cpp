#include "cli_fixture.hpp"

#include <stdlib.h>

#include <cmath>
#include <iostream>

#include "../support/process.hpp"
#include "io/hdf5.hpp"
#include "jobs/tomography/quality.hpp"
#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs::testing {

CliTest::CliTest() {
  std::string pattern = (std::filesystem::temp_directory_path() / "beamflow-tomo-cli-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  m_dir = pattern;
}

CliTest::~CliTest() {
  std::error_code ec;
  if (!HasFailure())
    std::filesystem::remove_all(m_dir, ec);
  else
    std::cerr << "kept " << m_dir << " for inspection\n";
}

Ran CliTest::shell(const std::string& command) const {
  // The output is also kept in .stdout and .stderr of the scratch directory.
  test::ProcessOptions options;
  options.cwd = m_dir;
  options.stdout_file = m_dir / ".stdout";
  options.stderr_file = m_dir / ".stderr";
  const test::ProcessResult p = test::run_shell(command, options);
  Ran r;
  r.code = p.exit_code;
  r.out = p.out;
  r.err = p.err;
  return r;
}

Ran CliTest::beamflow(const std::string& args, int ranks, const std::string& env) const {
  std::string command = env.empty() ? "" : "env " + env + " ";
  // OpenMPI refuses root without these; CI containers run as root.
  if (ranks > 0)
    command += "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np " +
               std::to_string(ranks) + " ";
  return shell(command + "'" BEAMFLOW_BINARY "' " + args);
}

Json CliTest::phantom(const std::string& name, const std::string& args) const {
  const Ran r = beamflow("phantom --json --output " + name + " " + args);
  EXPECT_EQ(r.code, 0) << r.err;
  return Json::parse(r.out);
}

std::vector<float> volume(const std::filesystem::path& file) { return read_volume(file).values; }

std::vector<std::uint8_t> done_flags(const std::filesystem::path& file) {
  VolumeFile v(file);
  auto flags = v.done();
  v.close();
  return flags;
}

}  // namespace beamflow::jobs::testing
