#pragma once
// Writing a Data Exchange file (serial): the phantom generator's output and
// the test fixtures' inputs go through the same code.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/hdf5.hpp"

namespace beamflow::jobs {

class DxWriter {
 public:
  // Creates `path`, replacing a file already there. Throws tomo.output.write.
  explicit DxWriter(const std::filesystem::path& path);

  // A whole dataset, creating the groups on its path.
  void write(const std::string& dataset, const std::vector<hsize_t>& dims, const std::vector<float>& values);
  void write(const std::string& dataset, const std::vector<hsize_t>& dims,
             const std::vector<std::uint16_t>& values);
  void write(const std::string& dataset, const std::vector<hsize_t>& dims, const std::vector<double>& values);
  // A string attribute on a dataset or group written before.
  void attribute(const std::string& object, const std::string& name, const std::string& value);
  // Closes the file, raising what the close reports.
  void close();

 private:
  void write_raw(const std::string& dataset, const std::vector<hsize_t>& dims, hid_t type, const void* values,
                 std::size_t count);
  io::h5::Site site(const std::string& dataset = {}) const;
  std::filesystem::path m_path;
  io::h5::Handle m_file;
};

}  // namespace beamflow::jobs
