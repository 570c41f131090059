// kernels/ links Kokkos and FFTW only (CONVENTIONS.md rule 1): no MPI, HDF5,
// JSON or engine headers, and fftw3.h nowhere but the one wrapper.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Include {
  std::string file;
  std::string header;
};

std::vector<Include> kernel_includes() {
  std::vector<Include> out;
  const std::regex include(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  const fs::path root = fs::path(BEAMFLOW_SOURCE_DIR) / "kernels";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (ext != ".hpp" && ext != ".cpp") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, include))
        out.push_back({entry.path().lexically_relative(root).string(), m[1]});
    }
  }
  return out;
}

TEST(KernelsPurity, NoMpiHdf5JsonOrEngineHeaders) {
  const std::vector<Include> includes = kernel_includes();
  ASSERT_GT(includes.size(), 20u);  // the scan found the sources
  const std::regex forbidden(
      R"((^|/)(mpi\.h|mpi\.hpp|hdf5\.h|H5[A-Za-z]*\.h)$|nlohmann|^core/|^engine/|^jobs/|^lang/|^run/|^actions/|^journal/)");
  for (const Include& i : includes) {
    EXPECT_FALSE(std::regex_search(i.header, forbidden)) << i.file << " includes " << i.header;
  }
}

TEST(KernelsPurity, FftwOnlyInTheWrapper) {
  for (const Include& i : kernel_includes()) {
    if (i.header.find("fftw3") != std::string::npos) {
      EXPECT_EQ(i.file, "common/fft.cpp") << i.header;
    }
  }
}

}  // namespace
