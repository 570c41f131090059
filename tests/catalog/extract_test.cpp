// What the catalog reads from a beamflow reconstruction: the technique
// "reconstruction" whichever way the volume names its input's digest
// (input_digest since xxh128 became the default; input_sha256 alone in an
// older volume), and the digest among the attributes.
#include "jobs/catalog/extract.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <string>

#include "support/scratch_dir.hpp"

namespace beamflow::catalog::test {
namespace {

// /exchange/data (2 floats) with the string attributes `attributes`.
void write_volume(const std::filesystem::path& path,
                  const std::vector<std::pair<std::string, std::string>>& attributes) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hsize_t n = 2;
  const float zeros[2] = {};
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t d = H5Dcreate2(f, "/exchange/data", H5T_NATIVE_FLOAT, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  for (const auto& [name, value] : attributes) {
    const hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, value.size());
    const hid_t a = H5Acreate2(d, name.c_str(), str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, str, value.data());
    H5Aclose(a);
    H5Tclose(str);
  }
  H5Sclose(scalar);
  H5Dclose(d);
  H5Sclose(space);
  H5Pclose(lcpl);
  H5Fclose(f);
}

Json techniques(const std::filesystem::path& file) { return extract_metadata(file).value("technique", Json()); }

TEST(Extract, ReconstructionsAreRecognisedByEitherDigest) {
  beamflow::test::ScratchDir dir{"beamflow-extract-"};
  const std::string xxh = "xxh128:0123456789abcdef0123456789abcdef", sha(64, 'a');
  write_volume(dir.path() / "new.h5", {{"algorithm", "gridrec"}, {"input_digest", xxh}});
  write_volume(dir.path() / "old.h5", {{"algorithm", "gridrec"}, {"input_sha256", sha}});
  write_volume(dir.path() / "other.h5", {{"algorithm", "gridrec"}});
  const Json reconstruction = Json::array({"reconstruction"});
  EXPECT_EQ(techniques(dir.path() / "new.h5"), reconstruction);
  EXPECT_EQ(techniques(dir.path() / "old.h5"), reconstruction);
  EXPECT_EQ(techniques(dir.path() / "other.h5"), Json());
  EXPECT_EQ(extract_metadata(dir.path() / "new.h5")["files"][0]["attributes"]["/exchange/data"]["input_digest"], xxh);
}

}  // namespace
}  // namespace beamflow::catalog::test
