#include "cli_fixture.hpp"

#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "io/hdf5.hpp"
#include "jobs/tomography/quality.hpp"
#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs::testing {

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

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
  const auto out = m_dir / ".stdout", err = m_dir / ".stderr";
  const std::string line =
      "cd '" + m_dir.string() + "' && { " + command + " ; } >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(line.c_str());
  Ran r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
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
  VolumeFile v(file, std::nullopt);
  auto flags = v.done();
  v.close();
  return flags;
}

}  // namespace beamflow::jobs::testing
