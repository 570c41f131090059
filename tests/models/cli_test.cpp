// `beamflow model ...` end to end: publish, list, search, describe, run
// (JSON and HDF5), exit codes and messages for bad requests, concurrent
// publishers, and a publish killed midway.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "../e2e/process.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using beamflow::test::ProcessResult;
using beamflow::test::run_beamflow;
using testing::copy_reference_model;
using testing::reference_dir;

class ModelCli : public ::testing::Test {
 protected:
  testing::TempDir dir;
  ProcessResult bf(std::vector<std::string> args) {
    args.push_back("--repo");
    args.push_back((dir / "repo").string());
    return run_beamflow(args, dir.path());
  }
  void publish(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"model", "publish",
                                  copy_reference_model(name, dir / ("src-" + name)).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = bf(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string write(const std::string& name, const Json& j) {
    std::ofstream(dir / name) << j.dump();
    return (dir / name).string();
  }
};

Tensor reference(const std::string& dataset, std::int64_t rows) {
  DatasetSource s(reference_dir() / "reference.h5", dataset);
  return s.read_rows(0, rows, DType::Float64);
}

TEST_F(ModelCli, PublishListSearchDescribe) {
  publish("rf_classifier");
  publish("gb_regressor", {"--version", "2.1.0"});
  auto r = bf({"model", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rf_classifier"), std::string::npos);
  EXPECT_NE(r.out.find("2.1.0"), std::string::npos);
  r = bf({"model", "list", "--json"});
  const Json list = Json::parse(r.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "gb_regressor");
  EXPECT_EQ(list[0]["visibility"], "private");
  r = bf({"model", "search", "RandomForestClassifier", "--format", "forest-hdf5", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out).size(), 1u);
  r = bf({"model", "describe", "gb_regressor"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gb_regressor@2.1.0"), std::string::npos);
  EXPECT_NE(r.out.find("sha256"), std::string::npos);
  r = bf({"model", "describe", "rf_classifier@1.0.0", "--json"});
  const Json d = Json::parse(r.out);
  EXPECT_EQ(d["runtime"]["trees"], 30);
  EXPECT_EQ(d["metadata"]["servable"]["methods"]["run"]["output"]["labels"][2], "mid");
}

TEST_F(ModelCli, RunOnJsonPrintsScikitLearnsExactValues) {
  publish("rf_classifier");
  DatasetSource x(reference_dir() / "reference.h5", "/X");
  const Tensor rows = x.read_rows(0, 50, DType::Float64);
  const auto r =
      bf({"model", "run", "rf_classifier", "--input", write("in.json", {{"inputs", tensor_to_json(rows)}})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json out = Json::parse(r.out);
  EXPECT_EQ(out["model"], "rf_classifier@1.0.0");
  EXPECT_EQ(out["labels"], Json::parse(R"(["high","low","mid"])"));
  EXPECT_EQ(out["outputs"], tensor_to_json(reference("/expected/rf_classifier", 50)));
}

TEST_F(ModelCli, RunStreamsAnHdf5DatasetIntoANewHdf5File) {
  publish("gb_multiclass");
  const auto in =
      write("in.json", {{"file", (reference_dir() / "reference.h5").string()}, {"dataset", "/X"}});
  const auto r =
      bf({"model", "run", "gb_multiclass", "--input", in, "--output", "out.h5", "--block-rows", "7777"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["output"]["shape"], Json::parse("[100000, 5]"));
  DatasetSource out(dir / "out.h5", "/outputs");
  DatasetSource ref(reference_dir() / "reference.h5", "/expected/gb_multiclass");
  ASSERT_EQ(out.shape(), ref.shape());
  const Tensor got = out.read_rows(0, out.rows(), DType::Float64);
  const Tensor want = ref.read_rows(0, ref.rows(), DType::Float64);
  double worst = 0;
  for (std::size_t i = 0; i < got.data<double>().size(); ++i)
    worst = std::max(worst, std::fabs(got.data<double>()[i] - want.data<double>()[i]));
  EXPECT_LT(worst, 1e-14);  // bit-identity is forest_exact_test's business; this is streaming's
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir.path(), ec))
    EXPECT_EQ(e.path().filename().string().find(".out.h5.tmp"), std::string::npos) << "temporary file left";
}

TEST_F(ModelCli, BadRequestsFailWithClearErrors) {
  publish("rf_classifier");
  struct Case {
    Json input;
    const char* model;
    const char* mention;
  };
  const Case cases[] = {
      {{{"inputs", Json::parse("[[1, 2, 3]]")}},
       "rf_classifier",
       "[model.input.shape] the input has shape [1, 3]"},
      {{{"inputs", Json::parse("[[\"a\"]]")}},
       "rf_classifier",
       "[model.input.dtype] /inputs/0/0: expected a number"},
      {{{"inputs", Json::parse("[1]")}, {"extra", 1}}, "rf_classifier", "[model.input.document]"},
      {{{"file", "absent.h5"}, {"dataset", "/X"}},
       "rf_classifier",
       "[model.input.read] input file not found"},
      {{{"inputs", Json::parse("[[1]]")}}, "nope", "[model.not_found] no model named 'nope'"},
      {{{"inputs", Json::parse("[[1]]")}}, "rf_classifier@9.0.0", "[model.version_not_found]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mention);
    const auto r = bf({"model", "run", c.model, "--input", write("bad.json", c.input)});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(c.mention), std::string::npos) << r.err;
  }
  EXPECT_EQ(bf({"model", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(bf({"model", "run", "rf_classifier"}).exit_code, 2);  // --input is required
}

TEST_F(ModelCli, NanInAnHdf5InputIsRefusedNamingRowAndFeature) {
  publish("rf_classifier");
  std::string out;
  ASSERT_EQ(
      testing::python("import sys, h5py, numpy as np\nx = np.zeros((10, 20), np.float32); x[4, 2] = np.nan\n"
                      "h5py.File(sys.argv[1], 'w')['x'] = x",
                      {(dir / "nan.h5").string()}, &out),
      0)
      << out;
  const auto r = bf(
      {"model", "run", "rf_classifier", "--input", write("in.json", {{"file", "nan.h5"}, {"dataset", "x"}})});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[model.input.nonfinite] input row 4, feature 2 is NaN"), std::string::npos) << r.err;
}

TEST_F(ModelCli, ACorruptedStoredModelIsRefusedAtLoad) {
  publish("rf_classifier");
  const auto file = dir / "repo/rf_classifier/1.0.0/forest.h5";
  std::filesystem::permissions(file, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  std::filesystem::resize_file(file, 4096);
  const auto r = bf({"model", "describe", "rf_classifier"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[model.file.checksum]"), std::string::npos) << r.err;
}

// Several publishers of one version at once: exactly one wins, every other
// one is told it lost, and the winner's model is whole.
TEST_F(ModelCli, ConcurrentPublishersOfOneVersionHaveExactlyOneWinner) {
  const auto src = copy_reference_model("rf_classifier", dir / "src");
  for (int round = 0; round < 4; ++round) {
    const std::string version = "1.0." + std::to_string(round);
    std::vector<pid_t> pids;
    for (int p = 0; p < 4; ++p)
      pids.push_back(beamflow::test::spawn(
          {"model", "publish", src.string(), "--version", version, "--repo", (dir / "repo").string()},
          dir.path(), "pub" + std::to_string(round) + "-" + std::to_string(p)));
    int winners = 0;
    for (std::size_t p = 0; p < pids.size(); ++p) {
      const int code = beamflow::test::wait_exit(pids[p]);
      const std::string err =
          beamflow::test::slurp(dir / ("pub" + std::to_string(round) + "-" + std::to_string(p) + ".err"));
      if (code == 0)
        ++winners;
      else
        EXPECT_NE(err.find("[model.publish.exists]"), std::string::npos) << err;
    }
    EXPECT_EQ(winners, 1) << version;
    const auto r = bf({"model", "describe", "rf_classifier@" + version});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

TEST_F(ModelCli, APublishKilledMidwayLeavesNoModel) {
  const auto src = copy_reference_model("rf_classifier", dir / "src");
  for (const char* point : {"after-copy", "before-rename"}) {
    SCOPED_TRACE(point);
    ::setenv("BEAMFLOW_TEST_PUBLISH_ABORT", point, 1);
    const auto killed = bf({"model", "publish", src.string()});
    ::unsetenv("BEAMFLOW_TEST_PUBLISH_ABORT");
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
    EXPECT_EQ(Json::parse(bf({"model", "list", "--json"}).out), Json::array());
    EXPECT_EQ(bf({"model", "describe", "rf_classifier"}).exit_code, 1);
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir / "repo" / ".staging"),
                          std::filesystem::directory_iterator{}),
            2);  // the second killed publish swept the first's leftovers; its own dir and lock stay
  const auto r = bf({"model", "publish", src.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The next publish swept them, and left nothing of its own.
  EXPECT_TRUE(std::filesystem::is_empty(dir / "repo" / ".staging"));
  const Json zeros = Json::array({Json(std::vector<double>(20, 0.0))});
  EXPECT_EQ(bf({"model", "run", "rf_classifier", "--input", write("in.json", {{"inputs", zeros}})}).exit_code,
            0);
}

// Under mpirun each rank evaluates a block of the rows; rank 0 gathers and
// writes them: the same bits as one process.
TEST_F(ModelCli, UnderMpirunRanksShareTheRowsOfAnHdf5Input) {
  publish("gb_regressor");
  const auto in =
      write("in.json", {{"file", (reference_dir() / "reference.h5").string()}, {"dataset", "/X"}});
  std::string out;
  const int rc = testing::shell(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 3 " +
          testing::quote(beamflow::test::beamflow_binary()) + " model run gb_regressor --input " +
          testing::quote(in) + " --output " + testing::quote((dir / "mpi.h5").string()) +
          " --block-rows 10000 --repo " + testing::quote((dir / "repo").string()),
      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(Json::parse(out.substr(out.find('{')))["output"]["shape"], Json::parse("[100000]")) << out;
  DatasetSource got(dir / "mpi.h5", "/outputs");
  const Tensor mine = got.read_rows(0, got.rows(), DType::Float64);
  const Tensor want = reference("/expected/gb_regressor", 100000);
  EXPECT_EQ(std::memcmp(mine.data<double>().data(), want.data<double>().data(), sizeof(double) * 100000), 0);
}

}  // namespace
}  // namespace beamflow::models
