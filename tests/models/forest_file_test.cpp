// The forest layout's checks: damaged or malformed files are refused at load
// with the dataset named; bad input values are refused at run time.
#include <fstream>
#include <limits>

#include "jobs/models/forest_runtime.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::expect_error;
using testing::python;
using testing::TempDir;

// A copy of the reference random forest with `edit` (Python, `f` an open
// h5py.File) applied.
std::filesystem::path edited_forest(const TempDir& dir, const std::string& edit) {
  const auto file = dir / "forest.h5";
  std::filesystem::copy_file(testing::reference_dir() / "rf_classifier" / "forest.h5", file);
  std::string out;
  EXPECT_EQ(python("import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r+')\n" + edit + "\nf.close()",
                   {file.string()}, &out),
            0)
      << out;
  return file;
}

TEST(ForestFile, StructuralDamageIsRefusedNamingTheDataset) {
  struct Case {
    const char* edit;
    const char* dataset;
    const char* mention;
  };
  const Case cases[] = {
      {"f['left'][0] = 0", "left", "child 0 must lie after the node"},
      {"f['right'][0] = 10**6", "right", "must lie after the node inside its tree"},
      {"f['feature'][0] = 20", "feature", "feature 20 is outside [0, 20)"},
      {"f['threshold'][0] = np.nan", "threshold", "threshold is NaN"},
      {"l = f['left'][...]; r = f['right'][...]; r[0] = l[0]; f['right'][...] = r", "left", "parents"},
      {"v = f['value'][...]; v[f['left'][...] < 0][0] = np.inf; i = np.where(f['left'][...] < 0)[0][0]; "
       "v[i, 0] = np.inf; f['value'][...] = v",
       "value", "leaf value is not finite"},
      {"f['tree_offsets'][1] = 0", "tree_offsets", "must increase strictly"},
      {"f['tree_column'][0] = 2", "tree_column", "adds to columns outside"},
      {"del f['classes']; f['classes'] = ['a', 'b']", "classes", "2 class labels for 3 output columns"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.edit);
    TempDir dir;
    const auto file = edited_forest(dir, c.edit);
    expect_error([&] { load_forest_runtime(file); }, "model.forest.invalid",
                 {c.mention, std::string("dataset=") + c.dataset, "file=" + file.string()});
  }
}

TEST(ForestFile, BadRootAttributesAreRefused) {
  TempDir a, b, c, d;
  expect_error([&] { load_forest_runtime(edited_forest(a, "f.attrs['format_version'] = np.int64(2)")); },
               "model.forest.invalid", {"layout version 2", "reads version 1"});
  expect_error([&] { load_forest_runtime(edited_forest(b, "f.attrs['link'] = np.bytes_('probit')")); },
               "model.forest.invalid", {"link = 'probit'", "expected one of"});
  expect_error([&] { load_forest_runtime(edited_forest(c, "f.attrs['link'] = np.bytes_('softmax')")); },
               "model.forest.invalid", {"a mean of trees takes the identity link"});
  expect_error([&] { load_forest_runtime(edited_forest(d, "del f.attrs['n_features']")); },
               "model.forest.invalid", {"n_features", "missing"});
}

TEST(ForestFile, MissingDatasetsTruncatedAndForeignFilesAreReadErrors) {
  TempDir dir;
  expect_error([&] { load_forest_runtime(edited_forest(dir, "del f['value']")); }, "model.forest.read",
               {"missing dataset", "dataset=value"});
  const auto truncated = dir / "truncated.h5";
  std::filesystem::copy_file(testing::reference_dir() / "rf_classifier" / "forest.h5", truncated);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(truncated) / 2);
  expect_error([&] { load_forest_runtime(truncated); }, "model.forest.read", {"file=" + truncated.string()});
  const auto text = dir / "notes.txt";
  std::ofstream(text) << "not a forest\n";
  expect_error([&] { load_forest_runtime(text); }, "model.forest.read", {"cannot open for reading"});
  EXPECT_FALSE(is_forest_file(text));
  EXPECT_TRUE(is_forest_file(testing::reference_dir() / "rf_classifier" / "forest.h5"));
  expect_error([&] { load_forest_runtime(dir / "absent.h5"); }, "model.forest.read",
               {"forest file not found"});
}

TEST(ForestFile, NonFiniteInputsAreRefusedLikeScikitLearn) {
  const auto rt = load_forest_runtime(testing::reference_dir() / "rf_classifier" / "forest.h5");
  Tensor x(DType::Float32, {3, 20});
  x.data<float>()[2 * 20 + 7] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { rt->run(x); }, "model.input.nonfinite",
               {"row 2, feature 7 is NaN", "finite values only"});
  x.data<float>()[2 * 20 + 7] = std::numeric_limits<float>::infinity();
  expect_error([&] { rt->run(x); }, "model.input.nonfinite", {"infinite or too large for float32"});
  expect_error(
      [&] {
        rt->run(Tensor(DType::Float32, {3, 19}));
      },
      "model.input.shape", {"[3, 19]", "the model takes [null, 20]"});
  expect_error([&] { rt->run(Tensor(DType::Float64, {3, 20})); }, "model.input.dtype", {"float64"});
  const Tensor none = rt->run(Tensor(DType::Float32, {0, 20}));
  EXPECT_EQ(none.shape(), (Shape{0, 3}));
}

}  // namespace
}  // namespace beamflow::models
