#include "jobs/models/tensor_h5.hpp"

#include <unistd.h>

#include <random>
#include <system_error>

#include "jobs/models/errors.hpp"

namespace beamflow::models {

namespace h5 = io::h5;

template <class T>
std::vector<T> read_dataset(hid_t file, const std::string& path, hid_t mem_type, const io::h5::Site& site,
                            Shape& shape) {
  auto dataset = io::h5::try_open_dataset(file, path, site);
  if (!dataset) io::h5::fail(site.at(path), "missing dataset");
  const auto dims = io::h5::dims(dataset->get(), site.at(path));
  shape.assign(dims.begin(), dims.end());
  std::size_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> out(n);
  if (n > 0)
    io::h5::check(H5Dread(dataset->get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), site.at(path),
              "cannot read");
  return out;
}

template std::vector<std::int32_t> read_dataset(hid_t, const std::string&, hid_t, const io::h5::Site&, Shape&);
template std::vector<std::int64_t> read_dataset(hid_t, const std::string&, hid_t, const io::h5::Site&, Shape&);
template std::vector<double> read_dataset(hid_t, const std::string&, hid_t, const io::h5::Site&, Shape&);

std::vector<std::string> read_strings(hid_t file, const std::string& path, const io::h5::Site& site) {
  const io::h5::Site at = site.at(path);
  auto dataset = io::h5::try_open_dataset(file, path, site);
  if (!dataset) io::h5::fail(at, "missing dataset");
  const auto dims = io::h5::dims(dataset->get(), at);
  if (dims.size() != 1) io::h5::fail(at, "expected a 1-D dataset of strings");
  io::h5::Handle type = io::h5::own(H5Dget_type(dataset->get()), at, "cannot read the type");
  if (H5Tget_class(type.get()) != H5T_STRING) io::h5::fail(at, "expected strings");
  const std::size_t n = dims[0];
  std::vector<std::string> out;
  out.reserve(n);
  if (H5Tis_variable_str(type.get()) > 0) {
    io::h5::Handle mem = io::h5::own(H5Tcopy(H5T_C_S1), at, "cannot create a string type");
    io::h5::check(H5Tset_size(mem.get(), H5T_VARIABLE), at, "cannot size a string");
    io::h5::check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), at, "cannot set a character set");
    std::vector<char*> raw(n, nullptr);
    if (n > 0)
      io::h5::check(H5Dread(dataset->get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), at,
                "cannot read");
    for (char* s : raw) out.emplace_back(s ? s : "");
    io::h5::Handle space = io::h5::own(H5Dget_space(dataset->get()), at, "cannot read the shape");
    if (n > 0) H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, raw.data());
    return out;
  }
  const std::size_t width = H5Tget_size(type.get());
  std::string buffer(n * width, '\0');
  if (n > 0)
    io::h5::check(H5Dread(dataset->get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), at,
              "cannot read");
  for (std::size_t i = 0; i < n; ++i) {
    std::string s = buffer.substr(i * width, width);
    out.push_back(s.substr(0, s.find('\0')));
  }
  return out;
}

namespace {
hid_t native(DType dtype) { return dtype == DType::Float32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE; }

std::vector<hsize_t> extents(const Shape& shape) { return {shape.begin(), shape.end()}; }
}  // namespace

DatasetSource::DatasetSource(const std::filesystem::path& file, const std::string& dataset)
    : m_site{"model.input.read", model_asl::InvalidInput, file.string(), dataset} {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) io::h5::fail(m_site, "input file not found");
  m_file = io::h5::open_file(file, io::h5::Access::ReadOnly, std::nullopt, m_site);
  auto d = io::h5::try_open_dataset(m_file.get(), dataset, m_site);
  if (!d) io::h5::fail(m_site, "no such dataset in the input file");
  m_dataset = std::move(*d);
  io::h5::Handle type = io::h5::own(H5Dget_type(m_dataset.get()), m_site, "cannot read the dataset's type");
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw input_error("model.input.dtype", "the input dataset does not hold numbers (integers or floats)",
                      {{"file", file.string()}, {"dataset", dataset}});
  const auto dims = io::h5::dims(m_dataset.get(), m_site);
  if (dims.empty())
    throw input_error("model.input.shape", "the input dataset is a scalar; models take a batch (rows first)",
                      {{"file", file.string()}, {"dataset", dataset}});
  m_shape.assign(dims.begin(), dims.end());
}

Tensor DatasetSource::read_rows(std::int64_t first, std::int64_t count, DType dtype) const {
  Shape shape = m_shape;
  shape[0] = count;
  Tensor t(dtype, shape);
  std::vector<hsize_t> start(m_shape.size(), 0);
  start[0] = static_cast<hsize_t>(first);
  void* buffer = dtype == DType::Float32 ? static_cast<void*>(t.data<float>().data())
                                         : static_cast<void*>(t.data<double>().data());
  io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, m_site);
  io::h5::read_slab(m_dataset.get(), start, extents(shape), native(dtype), buffer, dxpl.get(), m_site);
  return t;
}

DatasetSink::DatasetSink(const std::filesystem::path& file, const std::string& dataset, DType dtype,
                         Shape shape)
    : m_final(file),
      m_site{"model.output.write", model_asl::IO, file.string(), dataset},
      m_dtype(dtype),
      m_shape(std::move(shape)) {
  std::random_device rd;
  m_temp = file.parent_path() / ("." + file.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(rd()));
  m_file = io::h5::open_file(m_temp, io::h5::Access::Create, std::nullopt, m_site);
  io::h5::create_parents(m_file.get(), dataset, m_site);
  const auto dims = extents(m_shape);
  io::h5::Handle space = io::h5::own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), m_site,
                             "cannot create a dataspace");
  m_dataset = io::h5::own(H5Dcreate2(m_file.get(), dataset.c_str(), native(dtype), space.get(), H5P_DEFAULT,
                                 H5P_DEFAULT, H5P_DEFAULT),
                      m_site, "cannot create the dataset");
}

DatasetSink::~DatasetSink() {
  if (m_committed) return;
  m_dataset.reset();
  m_file.reset();
  std::error_code ec;
  std::filesystem::remove(m_temp, ec);
}

void DatasetSink::write_rows(std::int64_t first, const Tensor& rows) {
  const Tensor t = cast(rows, m_dtype);
  std::vector<hsize_t> start(m_shape.size(), 0);
  start[0] = static_cast<hsize_t>(first);
  const void* buffer = m_dtype == DType::Float32 ? static_cast<const void*>(t.data<float>().data())
                                                 : static_cast<const void*>(t.data<double>().data());
  io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, m_site);
  io::h5::write_slab(m_dataset.get(), start, extents(t.shape()), native(m_dtype), buffer, dxpl.get(), m_site);
}

void DatasetSink::attribute(const std::string& name, const std::string& value) {
  io::h5::write_attribute(m_dataset.get(), name, value, m_site);
}

void DatasetSink::commit() {
  m_dataset.reset();
  if (!m_file.reset()) io::h5::fail(m_site, "cannot close the output file");
  std::error_code ec;
  std::filesystem::rename(m_temp, m_final, ec);
  if (ec)
    throw model_error("model.output.write", model_asl::IO,
                      "cannot move the output into place: " + ec.message(), {{"file", m_final.string()}});
  m_committed = true;
}

}  // namespace beamflow::models
