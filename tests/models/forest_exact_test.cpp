// Forests bit-identical to scikit-learn: every supported ensemble kind,
// 100,000 rows (a tenth on or beside split thresholds), compared bit for bit
// with predict_proba / predict computed by scikit-learn at test time.
#include <cmath>
#include <cstring>

#include "jobs/models/forest_runtime.hpp"
#include "jobs/models/model.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::reference_dir;

Tensor read_reference(const std::string& dataset) {
  DatasetSource source(reference_dir() / "reference.h5", dataset);
  return source.read_rows(0, source.rows(), DType::Float64);
}

Tensor reference_rows() {
  DatasetSource source(reference_dir() / "reference.h5", "/X");
  return source.read_rows(0, source.rows(), DType::Float32);
}

// Number of elements whose bits differ.
std::size_t differing_bits(const Tensor& a, const Tensor& b) {
  const auto x = a.data<double>(), y = b.data<double>();
  std::size_t n = 0;
  for (std::size_t i = 0; i < x.size(); ++i) n += std::memcmp(&x[i], &y[i], sizeof(double)) != 0;
  return n;
}

double max_ulps(const Tensor& a, const Tensor& b) {
  const auto x = a.data<double>(), y = b.data<double>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ulp = std::nextafter(std::fabs(y[i]), INFINITY) - std::fabs(y[i]);
    worst = std::max(worst, std::fabs(x[i] - y[i]) / ulp);
  }
  return worst;
}

TEST(ForestExactness, EveryEnsembleKindIsBitIdenticalToScikitLearnOver100kRows) {
  const Tensor x = reference_rows();
  ASSERT_EQ(x.shape()[0], 100000);
  for (const char* name : {"rf_classifier", "rf_regressor", "extra_trees", "decision_tree", "gb_regressor",
                           "gb_huber", "gb_binary", "gb_exponential"}) {
    SCOPED_TRACE(name);
    const auto runtime = load_forest_runtime(reference_dir() / name / "forest.h5");
    const Tensor out = runtime->run(x);
    const Tensor expected = read_reference(std::string("/expected/") + name);
    ASSERT_EQ(out.shape(), expected.shape());
    EXPECT_EQ(differing_bits(out, expected), 0u);
  }
}

// numpy computes the softmax's exp and log (and the log of the class priors
// stored as the initial prediction) with its own AVX-512 code where the CPU
// has it, libm's elsewhere; we use libm's. Against scikit-learn on libm
// numpy (model exported there too): bit-identical. Against AVX-512 numpy: a
// few units in the last place (not a model difference: scikit-learn's own
// results differ that much between CPUs).
TEST(ForestExactness, SoftmaxBoostingIsBitIdenticalToScikitLearnWithLibmAndWithinUlpsOfAvx512Numpy) {
  const Tensor x = reference_rows();
  for (const char* name : {"gb_multiclass", "gb_nine_classes"}) {
    SCOPED_TRACE(name);
    const Tensor libm =
        load_forest_runtime(reference_dir() / (std::string(name) + "_libm") / "forest.h5")->run(x);
    EXPECT_EQ(differing_bits(libm, read_reference(std::string("/expected_libm/") + name)), 0u);
    const Tensor out = load_forest_runtime(reference_dir() / name / "forest.h5")->run(x);
    // An ulp of the log-sum-exp (about 5) moves exp(raw - lse) by several
    // ulps of a small probability: 9 at most observed.
    EXPECT_LE(max_ulps(out, read_reference(std::string("/expected/") + name)), 16.0);
  }
}

TEST(ForestExactness, ExportedValidationVectorsPass) {
  for (const char* name : {"rf_classifier", "gb_regressor", "gb_multiclass"}) {
    SCOPED_TRACE(name);
    const auto dir = reference_dir() / name;
    const auto model = Model::load(dir, testing::read_json(dir / "metadata.json"));
    EXPECT_NO_THROW(run_validation_vectors(*model));
  }
}

TEST(ForestExactness, ClassifierSignatureCarriesClassLabelsAndRegressorsAreOneDimensional) {
  const auto clf = load_forest_runtime(reference_dir() / "rf_classifier" / "forest.h5");
  EXPECT_EQ(clf->signature().output.labels, (std::vector<std::string>{"high", "low", "mid"}));
  EXPECT_EQ(clf->signature().output.shape_string(), "[null, 3]");
  EXPECT_EQ(clf->signature().input.shape_string(), "[null, 20]");
  EXPECT_EQ(clf->signature().method, "predict_proba");
  const auto reg = load_forest_runtime(reference_dir() / "gb_regressor" / "forest.h5");
  EXPECT_EQ(reg->signature().output.shape_string(), "[null]");
  EXPECT_EQ(reg->describe()["trees"], 60);
  EXPECT_EQ(reg->describe()["link"], "identity");
}

}  // namespace
}  // namespace beamflow::models
