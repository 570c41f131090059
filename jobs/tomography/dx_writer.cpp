#include "jobs/tomography/dx_writer.hpp"

#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {

io::h5::Site DxWriter::site(const std::string& dataset) const {
  return {"tomo.output.write", tomo_asl::Output, m_path.string(), dataset};
}

DxWriter::DxWriter(const std::filesystem::path& path) : m_path(path) {
  m_file = io::h5::open_file(path, io::h5::Access::Create, std::nullopt, site());
}

void DxWriter::write_raw(const std::string& dataset, const std::vector<hsize_t>& dims, hid_t type,
                         const void* values, std::size_t count) {
  std::size_t expected = 1;
  for (hsize_t d : dims) expected *= d;
  if (expected != count) io::h5::fail(site(dataset), "the values do not match the shape");
  io::h5::create_parents(m_file.get(), dataset, site());
  io::h5::Handle space = io::h5::own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                             site(dataset), "cannot create a dataspace");
  io::h5::Handle data = io::h5::own(
      H5Dcreate2(m_file.get(), dataset.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      site(dataset), "cannot create dataset");
  io::h5::check(H5Dwrite(data.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), site(dataset), "cannot write");
}

void DxWriter::write(const std::string& dataset, const std::vector<hsize_t>& dims,
                     const std::vector<float>& values) {
  write_raw(dataset, dims, H5T_NATIVE_FLOAT, values.data(), values.size());
}

void DxWriter::write(const std::string& dataset, const std::vector<hsize_t>& dims,
                     const std::vector<std::uint16_t>& values) {
  write_raw(dataset, dims, H5T_NATIVE_UINT16, values.data(), values.size());
}

void DxWriter::write(const std::string& dataset, const std::vector<hsize_t>& dims,
                     const std::vector<double>& values) {
  write_raw(dataset, dims, H5T_NATIVE_DOUBLE, values.data(), values.size());
}

void DxWriter::attribute(const std::string& object, const std::string& name, const std::string& value) {
  io::h5::Handle handle =
      io::h5::own(H5Oopen(m_file.get(), object.c_str(), H5P_DEFAULT), site(object), "cannot open object");
  io::h5::write_attribute(handle.get(), name, value, site(object));
}

void DxWriter::close() {
  if (!m_file.reset()) io::h5::fail(site(), "cannot close");
}

}  // namespace beamflow::jobs
