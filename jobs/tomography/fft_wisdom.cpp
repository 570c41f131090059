#include "jobs/tomography/fft_wisdom.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"
#include "kernels/common/fft.hpp"
#include "run/paths.hpp"

namespace beamflow::jobs {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line;
  return "unknown cpu";
}

// The wisdom's lines (its header, one per plan, its end), sorted.
std::vector<std::string> sorted_lines(const std::string& wisdom) {
  std::vector<std::string> lines;
  std::istringstream in(wisdom);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

std::filesystem::path fft_wisdom_path() {
  if (const char* file = std::getenv("BEAMFLOW_FFT_WISDOM"); file && *file) return file;
  const std::string key = sha256_hex(kernels::fft::library_version() + "\n" + cpu_model()).substr(0, 16);
  return run::beamflow_home() / "fftw" / (key + ".wisdom");
}

std::string load_fft_wisdom(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return in.bad() ? std::string{} : text.str();
}

std::string save_fft_wisdom(const std::filesystem::path& path, const std::string& wisdom) {
  try {
    fs::create_private_directories(path.parent_path(), "fs.write");
    fs::write_file_atomic(path, wisdom);
    return {};
  } catch (const Error& e) {
    return e.what();
  }
}

bool same_fft_wisdom(const std::string& a, const std::string& b) {
  return a == b || sorted_lines(a) == sorted_lines(b);
}

}  // namespace beamflow::jobs
