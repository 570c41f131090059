// `beamflow dataset ...` end to end with the real binary: publish, search
// (--json in the Globus Search shape), describe, verify with a flipped byte,
// versions, withdraw, curation, and the command-line face of every error
// the library tests do not reach.
#include <gtest/gtest.h>

#include "support/process.hpp"
#include <hdf5.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "catalog/support/fixtures.hpp"
#include "core/json.hpp"
#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

// A small Data Exchange file: /exchange/data (4 x 3 x 5 uint16),
// /exchange/theta (0..180, units=degrees) and the monochromator energy.
void write_scan(const std::filesystem::path& path) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hsize_t dims[3] = {4, 3, 5};
  std::vector<std::uint16_t> zeros(60, 0);
  hid_t space = H5Screate_simple(3, dims, nullptr);
  hid_t d = H5Dcreate2(f, "/exchange/data", H5T_NATIVE_UINT16, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  H5Dclose(d);
  H5Sclose(space);
  const double theta[4] = {0, 60, 120, 180};
  const hsize_t n = 4;
  space = H5Screate_simple(1, &n, nullptr);
  d = H5Dcreate2(f, "/exchange/theta", H5T_NATIVE_DOUBLE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, theta);
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 7);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(d, "units", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, str, "degrees");
  H5Aclose(a);
  H5Dclose(d);
  H5Sclose(space);
  const hid_t g = H5Gcreate2(f, "/measurement/instrument/monochromator", lcpl, H5P_DEFAULT, H5P_DEFAULT);
  const double energy = 25.0;
  a = H5Acreate2(g, "energy", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_DOUBLE, &energy);
  H5Aclose(a);
  H5Gclose(g);
  H5Sclose(scalar);
  H5Tclose(str);
  H5Pclose(lcpl);
  H5Fclose(f);
}

struct Outcome {
  int code;
  std::string out, err;
};

class DatasetCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(m_dir.path() / "meta.json") << metadata().dump();
    std::filesystem::create_directories(m_dir.path() / "src");
    std::ofstream(m_dir.path() / "src/scan.raw") << std::string(4096, 'x');
    std::ofstream(m_dir.path() / "src/notes.txt") << "beam energy 25 keV";
  }
  // `beamflow ARGS` through the shell (ARGS may quote), in the test's directory.
  Outcome run(const std::string& args) {
    beamflow::test::ProcessOptions options;
    options.cwd = m_dir.path();
    options.env = {{"BEAMFLOW_HOME", (m_dir.path() / "home").string()}};
    const auto r = beamflow::test::run_shell("'" BEAMFLOW_BINARY "' " + args, options);
    return {r.signal ? -1 : r.exit_code, r.out, r.err};
  }
  std::string publish(const std::string& extra = "") {
    const auto r = run("dataset publish src --meta meta.json --visible-to public --json " + extra);
    EXPECT_EQ(r.code, 0) << r.err;
    return Json::parse(r.out)["identifier"].get<std::string>();
  }
  beamflow::test::ScratchDir m_dir{"beamflow-dataset-cli-"};
};

TEST_F(DatasetCli, PublishSearchDescribeVerify) {
  const std::string id = publish();
  auto s = run("dataset search steel --facet domain.elements --json");
  ASSERT_EQ(s.code, 0) << s.err;
  const Json g = Json::parse(s.out);
  EXPECT_EQ(g["total"], 1);
  EXPECT_EQ(g["gmeta"][0]["subject"], id);
  EXPECT_EQ(g["gmeta"][0]["entries"][0]["content"]["dc"]["titles"][0]["title"], "Steel fatigue tomography");
  EXPECT_EQ(g["facet_results"][0]["buckets"].size(), 2u);
  EXPECT_EQ(Json::parse(run("dataset search --filter domain.energy_kev=20..30 --json").out)["total"], 1);
  EXPECT_EQ(Json::parse(run("dataset search --filter 'dc.titles.title~Steel*' --json").out)["total"], 1);
  EXPECT_EQ(run("dataset describe " + id).code, 0);
  const auto v = run("dataset verify " + id);
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("2 files match"), std::string::npos) << v.out;

  const Json doc = Json::parse(run("dataset describe " + id + " --json").out);
  {
    std::fstream f(doc["location"].get<std::string>() + "/data/scan.raw", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('y');
  }
  const auto bad = run("dataset verify " + id);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("[dataset.verify.failed]"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("data/scan.raw: sha256 mismatch"), std::string::npos) << bad.err;
}

TEST_F(DatasetCli, VersionsWithdrawAndCuration) {
  const std::string id = publish();
  EXPECT_EQ(Json::parse(run("dataset publish src --meta meta.json --identifier " + id + " --json").out)["version"], 2);
  EXPECT_EQ(Json::parse(run("dataset versions " + id + " --json").out).size(), 2u);
  auto w = run("dataset withdraw " + id + " --version 1");
  EXPECT_EQ(w.code, 1);
  EXPECT_NE(w.err.find("[dataset.invalid_request] reason:"), std::string::npos) << w.err;
  EXPECT_EQ(run("dataset withdraw " + id + " --version 1 --reason 'wrong sample'").code, 0);
  EXPECT_EQ(Json::parse(run("dataset describe " + id + " --version 1 --json").out)["status"], "withdrawn");
  EXPECT_EQ(Json::parse(run("dataset describe " + id + " --json").out)["version"], 2);

  // The tests run as root, an administrator, who may curate.
  ASSERT_EQ(run("dataset collection mdf --require-approval --curators group:curators").code, 0);
  const std::string pending = publish("--collection mdf");
  EXPECT_EQ(Json::parse(run("dataset search steel --json").out)["total"], 1);  // only the first dataset
  EXPECT_EQ(Json::parse(run("dataset pending --json").out).size(), 1u);
  EXPECT_EQ(run("dataset approve " + pending).code, 0);
  EXPECT_EQ(Json::parse(run("dataset search steel --json").out)["total"], 2);
}

TEST_F(DatasetCli, ExtractsDataExchangeMetadataIntoTheEntry) {
  write_scan(m_dir.path() / "src/scan.h5");
  const std::string id = publish();
  const Json doc = Json::parse(run("dataset describe " + id + " --json").out);
  const Json& file = doc["extracted"]["files"][0];
  EXPECT_EQ(file["path"], "scan.h5");
  EXPECT_EQ(file["theta"], Json::parse(R"({"count": 4, "first": 0.0, "last": 180.0, "units": "degrees"})"));
  EXPECT_EQ(file["attributes"]["/measurement/instrument/monochromator"]["energy"], 25.0);
  bool found = false;
  for (const auto& d : file["datasets"])
    if (d["path"] == "/exchange/data") found = d["shape"] == Json::array({4, 3, 5}) && d["dtype"] == "uint16";
  EXPECT_TRUE(found) << file.dump();
  EXPECT_EQ(doc["domain"]["beamline"], "2-BM");  // the user's own values stay as given
  EXPECT_EQ(Json::parse(run("dataset search --filter extracted.technique=tomography --json").out)["total"], 1);
}

TEST_F(DatasetCli, DepositFlowWaitsForTheCurator) {
  ASSERT_EQ(run("dataset collection mdf --require-approval --curators group:curators").code, 0);
  Json input = Json::parse(std::ifstream(std::string(BEAMFLOW_SOURCE_DIR) + "/configs/flows/publish.input.json"));
  input["source"] = (m_dir.path() / "src").string();
  input["processing_dir"] = (m_dir.path() / "processing").string();
  input["collection"] = "mdf";
  std::ofstream(m_dir.path() / "input.json") << input.dump();
  const std::string flow = std::string(BEAMFLOW_SOURCE_DIR) + "/configs/flows/publish.json";
  // The run waits in Publish; a background shell plays the curator: it
  // waits for the notification in its inbox and runs the approve command
  // the notification gives.
  const std::string approve =
      "(export BEAMFLOW_HOME=home; for i in $(seq 600); do for f in home/notifications/group-curators/*.json; do "
      "[ -e \"$f\" ] || continue; "
      "cmd=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"approve\"])' \"$f\"); "
      "eval \"'" BEAMFLOW_BINARY "'${cmd#beamflow}\" && exit; done; sleep 0.2; done) >/dev/null 2>&1 &";
  beamflow::test::ProcessOptions in_dir;
  in_dir.cwd = m_dir.path();
  ASSERT_EQ(beamflow::test::run_shell(approve, in_dir).exit_code, 0);
  const auto r = run("run '" + flow + "' --input input.json --json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const Json out = Json::parse(r.out);
  EXPECT_EQ(out["status"], "SUCCEEDED") << r.out;
  EXPECT_EQ(out["output"]["indexed"], 1) << r.out;
  const std::string id = out["output"]["identifier"].get<std::string>();
  EXPECT_EQ(Json::parse(run("dataset describe " + id + " --json").out)["status"], "published");
  // The curator's notification now records the decision.
  std::size_t notes = 0;
  for (const auto& f : std::filesystem::directory_iterator(m_dir.path() / "home/notifications/group-curators")) {
    const Json note = Json::parse(std::ifstream(f.path()));
    EXPECT_EQ(note["identifier"], id);
    EXPECT_EQ(note["status"], "published");
    ++notes;
  }
  EXPECT_EQ(notes, 1u);
}

TEST_F(DatasetCli, PublishInPlaceLeavesTheDataWhereItIs) {
  const auto r = run("dataset publish src --in-place --meta meta.json --visible-to public --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json doc = Json::parse(r.out);
  const std::string id = doc["identifier"].get<std::string>();
  const std::filesystem::path bag = doc["location"].get<std::string>();
  EXPECT_FALSE(std::filesystem::exists(bag / "data"));
  EXPECT_TRUE(std::filesystem::exists(bag / "fetch.txt"));
  EXPECT_EQ(doc["in_place"]["source"], (m_dir.path() / "src").string());
  const auto v = run("dataset verify " + id);
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("2 files match"), std::string::npos) << v.out;
  {
    std::fstream f(m_dir.path() / "src/scan.raw", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('y');
  }
  const auto bad = run("dataset verify " + id);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("data/scan.raw: sha256 mismatch"), std::string::npos) << bad.err;
}

TEST_F(DatasetCli, ErrorsNameWhatIsWrong) {
  auto expect = [&](const std::string& args, const std::string& id, const std::string& mention) {
    const auto r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find("[" + id + "]"), std::string::npos) << args << ": " << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << args << ": " << r.err;
  };
  std::ofstream(m_dir.path() / "nodc.json") << R"({"domain": {}})";
  expect("dataset publish src --meta nodc.json", "dataset.metadata.missing", "dc:");
  expect("dataset publish src --meta meta.json --collection nope", "catalog.collection.not_found", "collection: no collection named 'nope'");
  expect("dataset collection a/b", "catalog.collection.invalid", "collection:");
  expect("dataset publish src --meta meta.json --visible-to 'team:x'", "dataset.metadata.invalid", "visible_to[0]");
  expect("dataset publish nowhere --meta meta.json", "dataset.source", "nowhere");
  std::ofstream(m_dir.path() / "afile") << "x";
  expect("dataset publish src --meta meta.json --storage afile", "dataset.storage", "afile");
  std::ofstream(m_dir.path() / "garbage.sqlite") << std::string(4096, 'g');
  expect("dataset search x --catalog sqlite:garbage.sqlite", "catalog.db", "garbage.sqlite");
  expect("dataset search x --catalog postgresql://nobody@127.0.0.1:1/none", "catalog.open", "PostgreSQL");
  expect("dataset describe ark:/99999/nothing", "dataset.not_found", "ark:/99999/nothing");
  expect("dataset describe not-an-id", "dataset.identifier.invalid", "identifier:");
  expect("dataset search --filter nonsense", "catalog.query.invalid", "--filter");
  expect("dataset search --marker abc", "catalog.cursor.invalid", "marker:");
  // Nothing half-written by any of the refused publishes.
  EXPECT_EQ(Json::parse(run("dataset search --json").out)["total"], 0);
}

// Issue 9 §3: a marker that decodes to JSON nested 100,000 deep (too long
// for one argv string, so in a --query file) is the same clear error, with
// the same exit code, as any other bad marker; no crash.
TEST_F(DatasetCli, ADeeplyNestedMarkerIsAClearError) {
  std::string marker;  // base64url of 100,002 '[' then as many ']'
  for (int i = 0; i < 33'334; ++i) marker += "W1tb";
  for (int i = 0; i < 33'334; ++i) marker += "XV1d";
  std::ofstream(m_dir.path() / "q.json") << Json{{"marker", marker}}.dump();
  const auto bad = run("dataset search --marker abc");
  const auto deep = run("dataset search --query q.json --json");
  EXPECT_EQ(deep.code, bad.code) << deep.err;
  const Json doc = Json::parse(deep.out);  // under --json the one error document
  EXPECT_EQ(doc["error"], "catalog.cursor.invalid") << deep.out;
  EXPECT_NE(doc["message"].get<std::string>().find("nests deeper than 512 levels"), std::string::npos) << deep.out;
  EXPECT_EQ(doc["context"]["limit"], "512") << deep.out;
}

}  // namespace
}  // namespace beamflow::catalog::test
