// Fast start (issue 14): a tomography command that no launcher started
// (mpirun, srun) never initialises MPI, and gives the same results as under
// `mpirun -np 1` and `mpirun -np 2`. BEAMFLOW_TRACE_START=1 makes the
// runtime print, once ready, whether MPI is initialised, asked of MPI itself
// (MPI_Initialized); under mpirun the same line says mpi=1, so the check can
// fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli_fixture.hpp"

namespace beamflow::jobs::testing {
namespace {

constexpr const char* kTrace = "BEAMFLOW_TRACE_START=1";

// The runtime's start line in `err`, or "" when none.
std::string start_line(const std::string& err) {
  const auto at = err.find("beamflow-start ");
  if (at == std::string::npos) return {};
  return err.substr(at, err.find('\n', at) - at);
}

bool says_mpi(const std::string& line, int value) {
  return line.find(" mpi=" + std::to_string(value) + " ") != std::string::npos;
}

TEST_F(CliTest, PlainCommandsDoNotInitialiseMpi) {
  phantom("p.h5", "--size 64 --angles 60 --rows 4 --center-offset 1");
  for (const std::string args :
       {"find-center --input p.h5", "recon -q --input p.h5 --center 32.5 --output plain.h5 --overwrite"}) {
    const Ran plain = beamflow(args, 0, kTrace);
    ASSERT_EQ(plain.code, 0) << args << ": " << plain.err;
    const std::string line = start_line(plain.err);
    ASSERT_FALSE(line.empty()) << args << ": no start trace in " << plain.err;
    EXPECT_TRUE(says_mpi(line, 0)) << args << ": " << line;

    const Ran launched = beamflow(args, 1, kTrace);
    ASSERT_EQ(launched.code, 0) << args << ": " << launched.err;
    EXPECT_TRUE(says_mpi(start_line(launched.err), 1)) << args << ": " << launched.err;
  }
}

TEST_F(CliTest, SameResultsWithoutMpirunAndUnderMpirun) {
  phantom("p.h5", "--size 96 --angles 90 --rows 6 --center-offset 2.5");
  const std::string recon = "recon -q --input p.h5 --center 50 --chunk-rows 2 --output ";
  ASSERT_EQ(beamflow(recon + "plain.h5").code, 0);
  const Ran one = beamflow(recon + "one.h5", 1);
  ASSERT_EQ(one.code, 0) << one.err;
  const Ran two = beamflow(recon + "two.h5", 2);
  ASSERT_EQ(two.code, 0) << two.err;
  const std::vector<float> plain = volume(path("plain.h5"));
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(volume(path("one.h5")), plain);
  EXPECT_EQ(volume(path("two.h5")), plain);

  const Ran c0 = beamflow("find-center --input p.h5 --rows 1:5 --samples 2");
  const Ran c1 = beamflow("find-center --input p.h5 --rows 1:5 --samples 2", 1);
  const Ran c2 = beamflow("find-center --input p.h5 --rows 1:5 --samples 2", 2);
  ASSERT_EQ(c0.code, 0) << c0.err;
  ASSERT_EQ(c1.code, 0) << c1.err;
  ASSERT_EQ(c2.code, 0) << c2.err;
  const Json a = Json::parse(c0.out);
  for (const Ran* r : {&c1, &c2}) {
    const Json b = Json::parse(r->out);
    EXPECT_EQ(b["centers"], a["centers"]);
    EXPECT_EQ(b["confidences"], a["confidences"]);
    EXPECT_EQ(b["center"].get<double>(), a["center"].get<double>());
  }
}

// `beamflow run` starts find_center as a supervised child process
// (`beamflow __action find_center STATE_DIR`, no mpiexec for one rank): that
// child does not initialise MPI either.
TEST_F(CliTest, AFlowsFindCenterChildDoesNotInitialiseMpi) {
  phantom("p.h5", "--size 64 --angles 60 --rows 4 --center-offset 1");
  std::ofstream(path("flow.json"))
      << R"({"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": "find_center",)"
      << R"( "Parameters": {"input": ")" << path("p.h5").string() << R"("}, "End": true}}})";
  const Ran r = beamflow("run flow.json --run-id fc --runs-dir runs --json", 0, kTrace);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(Json::parse(r.out)["status"], "SUCCEEDED") << r.out;
  // The child's stderr, kept by its supervisor in the action's state dir.
  std::vector<std::string> lines;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path("runs"))) {
    if (!e.is_regular_file() || e.path().filename() != "stderr") continue;
    std::ifstream in(e.path());
    const std::string line = start_line(std::string(std::istreambuf_iterator<char>(in), {}));
    if (!line.empty()) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 1u) << "expected one child's start trace under runs/";
  EXPECT_TRUE(says_mpi(lines[0], 0)) << lines[0];
}

}  // namespace
}  // namespace beamflow::jobs::testing
