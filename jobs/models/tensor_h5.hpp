#pragma once
// HDF5 for the model hub: whole numeric and string datasets (model files),
// row slabs of an input dataset, and an output dataset written in slabs into
// a new file that appears under its name only when complete.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/hdf5.hpp"
#include "jobs/models/tensor.hpp"

namespace beamflow::models {

// A whole dataset converted to T (mem_type: H5T_NATIVE_INT32, _INT64,
// _DOUBLE, ...); `shape` receives its extents. Fails through `site`.
template <class T>
std::vector<T> read_dataset(hid_t file, const std::string& path, hid_t mem_type, const io::h5::Site& site,
                            Shape& shape);
// A 1-D dataset of strings (variable or fixed length).
std::vector<std::string> read_strings(hid_t file, const std::string& path, const io::h5::Site& site);

// A numeric dataset of rank >= 1 that a model reads in row slabs.
class DatasetSource {
 public:
  // Throws model.input.read (missing file or dataset, unreadable) or
  // model.input.dtype (not integers or floats).
  DatasetSource(const std::filesystem::path& file, const std::string& dataset);
  const Shape& shape() const noexcept { return m_shape; }
  std::int64_t rows() const noexcept { return m_shape.empty() ? 0 : m_shape[0]; }
  // Rows [first, first + count), converted by HDF5 to `dtype`.
  Tensor read_rows(std::int64_t first, std::int64_t count, DType dtype) const;

 private:
  io::h5::Site m_site;
  io::h5::Handle m_file;
  io::h5::Handle m_dataset;
  Shape m_shape;
};

// A new HDF5 file holding one dataset, written in row slabs. It is built
// under a temporary name in the same directory and renamed over `file` by
// commit(), so readers never see a half-written output; without commit()
// the temporary file is removed.
class DatasetSink {
 public:
  // Throws model.output.write.
  DatasetSink(const std::filesystem::path& file, const std::string& dataset, DType dtype, Shape shape);
  DatasetSink(const DatasetSink&) = delete;
  DatasetSink& operator=(const DatasetSink&) = delete;
  ~DatasetSink();

  void write_rows(std::int64_t first, const Tensor& rows);
  void attribute(const std::string& name, const std::string& value);
  void commit();

 private:
  std::filesystem::path m_final;
  std::filesystem::path m_temp;
  io::h5::Site m_site;
  io::h5::Handle m_file;
  io::h5::Handle m_dataset;
  DType m_dtype;
  Shape m_shape;
  bool m_committed = false;
};

}  // namespace beamflow::models
