// `model run --output` follows the one output rule (issue 9 §4): an existing
// file is refused without --overwrite, and the input is never the output.
#include <fstream>

#include "../e2e/process.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using beamflow::test::run_beamflow;
using testing::copy_reference_model;
using testing::reference_dir;

class ModelOutputRule : public ::testing::Test {
 protected:
  testing::TempDir dir;
  beamflow::test::ProcessResult bf(std::vector<std::string> args) {
    args.push_back("--repo");
    args.push_back((dir / "repo").string());
    return run_beamflow(args, dir.path());
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir / name, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
};

TEST_F(ModelOutputRule, ExistingOutputIsRefusedWithoutOverwrite) {
  ASSERT_EQ(bf({"model", "publish", copy_reference_model("gb_multiclass", dir / "src").string()}).exit_code, 0);
  std::ofstream(dir / "in.json") << Json{{"file", (reference_dir() / "reference.h5").string()}, {"dataset", "/X"}}.dump();
  std::ofstream(dir / "precious.h5") << "not yours";
  auto r = bf({"model", "run", "gb_multiclass", "--input", "in.json", "--output", "precious.h5"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("fs.output.exists"), std::string::npos) << r.err;
  EXPECT_EQ(read("precious.h5"), "not yours");

  // The input is never the output, even with --overwrite.
  std::filesystem::copy_file(reference_dir() / "reference.h5", dir / "copy.h5");
  std::ofstream(dir / "in2.json") << Json{{"file", "copy.h5"}, {"dataset", "/X"}}.dump();
  const std::string before = read("copy.h5");
  r = bf({"model", "run", "gb_multiclass", "--input", "in2.json", "--output", "copy.h5", "--overwrite"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("fs.output.is_input"), std::string::npos) << r.err;
  EXPECT_EQ(read("copy.h5"), before);

  r = bf({"model", "run", "gb_multiclass", "--input", "in.json", "--output", "precious.h5", "--overwrite"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read("precious.h5"), "not yours");
}

}  // namespace
}  // namespace beamflow::models
