#pragma once
// A fresh directory under the system temp dir, removed with everything in it
// when the object goes away.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <system_error>

namespace beamflow::test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "beamflow-test-") {
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() / (prefix + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  // BEAMFLOW_KEEP_SCRATCH=1 keeps the directory (and says where), to read
  // a failed test's pilot logs and run directories afterwards.
  ~ScratchDir() {
    if (const char* keep = std::getenv("BEAMFLOW_KEEP_SCRATCH"); keep && *keep && std::string(keep) != "0") {
      std::cerr << "kept scratch directory " << m_path.string() << "\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }
  // Writes `text` to a file in the directory; returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto p = m_path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path m_path;
};

}  // namespace beamflow::test
