// The metallic-glass use case: Magpie features in C++ equal the numpy ones
// the model was trained on, bit for bit; compositions and element tables are
// checked; the ternary sweep flow runs end to end and draws its map.
#include <cstring>
#include <fstream>
#include <random>

#include "../e2e/process.hpp"
#include "jobs/models/composition.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "jobs/models/ternary.hpp"
#include "kernels/ml/composition.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::expect_error;
using testing::source_dir;

std::filesystem::path elements_csv() { return source_dir() / "configs/data/elements.csv"; }

TEST(Composition, FeaturesEqualTheNumpyTrainingFeaturesBitForBit) {
  const auto pre = load_magpie_preprocessor({{"name", kMagpiePreprocessing}, {"elements", "elements.csv"}},
                                            elements_csv().parent_path(), "/p");
  // Random compositions of 1 to 5 elements, as dicts and as formulas.
  const auto table = ElementTable::read_csv(elements_csv());
  std::mt19937 rng(7);
  Json comps = Json::array();
  for (int i = 0; i < 300; ++i) {
    Json c = Json::object();
    const int k = 1 + static_cast<int>(rng() % 5);
    for (int e = 0; e < k; ++e) c[table.symbols[rng() % table.symbols.size()]] = (1 + rng() % 997) / 10.0;
    comps.push_back(c);
  }
  comps.push_back("Cu50Zr50");
  comps.push_back("CoZr2");
  const Tensor ours = pre->apply(comps, "/inputs");
  testing::TempDir dir;
  testing::write_json(dir / "comps.json", comps);
  std::string out;
  ASSERT_EQ(testing::python(R"PY(
import sys, json, re, h5py, glass_features as g
t = g.ElementTable(sys.argv[1])
comps = [c if isinstance(c, dict) else {s: float(a) if a else 1.0 for s, a in re.findall(r"([A-Z][a-z]?)([0-9.]*)", c)}
         for c in json.load(open(sys.argv[2]))]
h5py.File(sys.argv[3], "w")["f"] = g.features(g.fractions(comps, t), t))PY",
                            {elements_csv().string(), (dir / "comps.json").string(), (dir / "f.h5").string()},
                            &out),
            0)
      << out;
  std::vector<double> theirs;
  Shape shape;
  {
    io::h5::Site site{"t", "T", (dir / "f.h5").string()};
    auto f = io::h5::open_file(dir / "f.h5", io::h5::Access::ReadOnly, std::nullopt, site);
    theirs = read_dataset<double>(f.get(), "/f", H5T_NATIVE_DOUBLE, site, shape);
  }
  ASSERT_EQ(shape, ours.shape());
  EXPECT_EQ(shape[1], kernels::composition_feature_count(12));
  const auto mine = ours.data<double>();
  std::size_t differ = 0;
  for (std::size_t i = 0; i < theirs.size(); ++i)
    differ += std::memcmp(&theirs[i], &mine[i], sizeof(double)) != 0;
  EXPECT_EQ(differ, 0u);
}

TEST(Composition, FormulasAndObjectsNormaliseToTheSameFractions) {
  const auto table = ElementTable::read_csv(elements_csv());
  EXPECT_EQ(composition_fractions("Co60V10Zr30", table, "/c"),
            composition_fractions(Json{{"Zr", 0.3}, {"V", 0.1}, {"Co", 0.6}}, table, "/c"));
  const auto f = composition_fractions("CoZr2", table, "/c");
  EXPECT_EQ(f[static_cast<std::size_t>(table.index.at("Zr"))], 2.0 / 3.0);
}

TEST(Composition, BadCompositionsNameTheirPointer) {
  const auto table = ElementTable::read_csv(elements_csv());
  expect_error(
      [&] {
        composition_fractions(Json{{"Xx", 1}}, table, "/inputs/2");
      },
      "model.composition.invalid", {"/inputs/2", "element 'Xx' is not in the model's element table"});
  expect_error(
      [&] {
        composition_fractions(Json{{"Co", -1}}, table, "/c");
      },
      "model.composition.invalid", {"/c/Co", ">= 0"});
  expect_error(
      [&] {
        composition_fractions(Json{{"Co", 0}}, table, "/c");
      },
      "model.composition.invalid", {"no positive amount"});
  expect_error([&] { composition_fractions("co50", table, "/c"); }, "model.composition.invalid",
               {"cannot read formula 'co50'"});
  expect_error([&] { composition_fractions("(CoZr)2", table, "/c"); }, "model.composition.invalid",
               {"parentheses"});
  expect_error([&] { composition_fractions("Co5.5.5", table, "/c"); }, "model.composition.invalid",
               {"bad amount"});
  expect_error([&] { composition_fractions(Json(3), table, "/c"); }, "model.composition.invalid",
               {"formula string"});
  const auto pre = load_magpie_preprocessor({{"name", kMagpiePreprocessing}, {"elements", "elements.csv"}},
                                            elements_csv().parent_path(), "/p");
  expect_error([&] { pre->apply(Json::array(), "/inputs"); }, "model.input.shape",
               {"non-empty array of compositions"});
  expect_error(
      [&] {
        pre->apply(Tensor(DType::Float32, {1, 2}));
      },
      "model.input.dtype", {"takes JSON documents"});
}

TEST(Composition, BadElementTablesAreRefusedWithFileAndLine) {
  testing::TempDir dir;
  auto table = [&](const std::string& text) {
    std::ofstream(dir / "t.csv") << text;
    return dir / "t.csv";
  };
  expect_error([&] { ElementTable::read_csv(table("# c\nsym,A\nCo,1\n")); }, "model.elements.invalid",
               {"header must be symbol", "line=2"});
  expect_error([&] { ElementTable::read_csv(table("symbol,A\nCo,1\nCo,2\n")); }, "model.elements.invalid",
               {"Co appears twice", "line=3"});
  expect_error([&] { ElementTable::read_csv(table("symbol,A,B\nCo,1,x\n")); }, "model.elements.invalid",
               {"'x' (B of Co) is not a number"});
  expect_error([&] { ElementTable::read_csv(table("symbol,A,B\nCo,1\n")); }, "model.elements.invalid",
               {"2 cells"});
  expect_error([&] { ElementTable::read_csv(dir / "absent.csv"); }, "model.elements.invalid",
               {"cannot open"});
  expect_error([&] { ElementTable::read_csv(elements_csv()).select({"Nope"}); }, "model.elements.invalid",
               {"no property column 'Nope'"});
  expect_error(
      [&] {
        load_magpie_preprocessor({{"name", kMagpiePreprocessing}}, dir.path(), "/beamflow/preprocessing");
      },
      "model.metadata.invalid", {"/beamflow/preprocessing/elements"});
}

TEST(Ternary, GridActionListsEveryCompositionAndChecksItsInput) {
  auto grid = make_ternary_grid_action();
  actions::ActionRequest r;
  r.action_id = "g";
  r.input = {{"elements", {"Co", "V", "Zr"}}, {"step", 0.05}};
  auto st = grid->run(r);
  ASSERT_EQ(st.status, actions::ActionStatus::Succeeded) << st.cause;
  EXPECT_EQ(st.details["points"].size(), 231u);
  EXPECT_EQ(st.details["points"][0]["composition"], Json::parse(R"({"Co": 0.0, "V": 0.0, "Zr": 1.0})"));
  r.input["step"] = 0.3;
  st = grid->run(r);
  EXPECT_EQ(st.error, "Model.InvalidInput");
  EXPECT_NE(st.cause.find("[model.ternary.invalid] /step: must divide 1"), std::string::npos) << st.cause;
  r.input = {{"elements", {"Co", "Co", "Zr"}}, {"step", 0.1}};
  EXPECT_NE(grid->run(r).cause.find("/elements: must name three different elements"), std::string::npos);
}

TEST(Ternary, MapActionRefusesPointsOffTheGrid) {
  auto map = make_ternary_map_action();
  actions::ActionRequest r;
  r.action_id = "m";
  r.input = {{"elements", {"A", "B", "C"}},
             {"step", 0.5},
             {"file", "x.png"},
             {"points", Json::parse(R"([{"composition": {"A": 0.3, "C": 0.7}, "value": 1}])")}};
  auto st = map->run(r);
  EXPECT_NE(st.cause.find("[model.ternary.invalid] /points/0/composition/A"), std::string::npos) << st.cause;
  r.input["points"] = Json::parse(R"([{"composition": {"A": 0.5, "C": 0.5}}])");
  EXPECT_NE(map->run(r).cause.find("/points/0/value: must be a finite number"), std::string::npos);
  r.input["points"] = Json::parse(R"([{"composition": {"A": 0.5}, "value": 0}])");
  EXPECT_NE(map->run(r).cause.find("/points/0/composition: fractions must sum to 1"), std::string::npos);
}

TEST(Ternary, RenderingPutsEachCornerWhereItBelongs) {
  // Only the A corner (i = n) is glass-like (1), the rest 0.
  std::vector<TernaryValue> v;
  const int n = 4;
  for (int i = 0; i <= n; ++i)
    for (int j = 0; i + j <= n; ++j) v.push_back({i, j, n - i - j, i == n ? 1.0 : 0.0});
  const auto img = render_ternary(v, n, 200);
  auto px = [&](int x, int y) { return img.pixels[static_cast<std::size_t>(y * img.width + x)]; };
  EXPECT_EQ(px(0, 0), 255);                             // outside: white
  EXPECT_EQ(px(20, img.height - 16), 0);                // near A: value 1, black
  EXPECT_EQ(px(img.width - 22, img.height - 16), 230);  // near B: value 0
  EXPECT_EQ(px(img.width / 2, 30), 230);                // near C
  EXPECT_EQ(px(img.width / 2, img.height - 13), 0);     // the bottom edge
}

// configs/flows/glass_sweep.json end to end with a freshly trained model.
TEST(GlassSweep, TrainPublishAndSweepACoVZrGridIntoAMap) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::python(
                "import sys, train_glass_model as t\nsys.exit(t.main(sys.argv[1:]))",
                {(dir / "model").string(), "--samples", "3000", "--ternaries", "6", "--trees", "12"}, &out),
            0)
      << out;
  using beamflow::test::run_beamflow;
  auto r = run_beamflow({"model", "publish", (dir / "model").string(), "--repo", (dir / "repo").string()},
                        dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;  // includes the composition validation vectors, tolerance 0
  r = run_beamflow({"model", "search", "glass", "--input-type", "Composition", "--domain", "metallic glasses",
                    "--json", "--repo", (dir / "repo").string()},
                   dir.path());
  EXPECT_EQ(Json::parse(r.out).size(), 1u) << r.out << r.err;
  ::setenv("BEAMFLOW_MODEL_REPO", (dir / "repo").c_str(), 1);
  r = run_beamflow(
      {"run", (source_dir() / "configs/flows/glass_sweep.json").string(), "--input",
       (source_dir() / "configs/flows/glass_sweep.input.json").string(), "--json", "--runs-dir", "runs"},
      dir.path());
  ::unsetenv("BEAMFLOW_MODEL_REPO");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json result = Json::parse(r.out);
  EXPECT_EQ(result["output"]["compositions"], 231);
  EXPECT_EQ(result["output"]["map"]["points"], 231);
  const double lo = result["output"]["map"]["min"], hi = result["output"]["map"]["max"];
  EXPECT_GE(lo, 0.0);
  EXPECT_LE(hi, 1.0);
  EXPECT_LT(lo, hi);
  const std::string png = beamflow::test::slurp(dir / "glass_Co-V-Zr.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace beamflow::models
