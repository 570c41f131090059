#pragma once
// Reading the APS Data Exchange layout beamlines write and dxchange reads:
//   /exchange/data        projections, angle x row x column, any integer or float type
//   /exchange/data_white  flat fields, frame x row x column (optional)
//   /exchange/data_dark   dark fields, frame x row x column (optional)
//   /exchange/theta       angles, degrees unless its "units" attribute says
//                         radians; when absent, N angles evenly spaced over
//                         [0, 180) degrees
// The dataset names are configurable for other layouts. Without flat fields
// the projections are taken as already normalised (flat = 1); without dark
// fields the dark current is taken as 0.
//
// Opening validates everything that can be checked without reading the
// projections (presence, shapes, angles); reading a slab of rows validates
// the values (no NaN, positive flats). Every problem is a beamflow::Error
// naming the file and dataset.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "parallel/decomposition.hpp"
#include "io/hdf5.hpp"

namespace beamflow::jobs {

struct DxLayout {
  std::string data = "/exchange/data";
  std::string flat = "/exchange/data_white";
  std::string dark = "/exchange/data_dark";
  std::string theta = "/exchange/theta";
};

struct DxShape {
  std::int64_t angles = 0;
  std::int64_t rows = 0;
  std::int64_t columns = 0;
  std::int64_t flats = 0;  // 0 when the flat dataset is absent
  std::int64_t darks = 0;
};

class DxInput {
 public:
  // With `comm`, opens through MPI-IO (collective: every rank of comm calls).
  DxInput(const std::filesystem::path& path, DxLayout layout, std::optional<MPI_Comm> comm);

  const std::filesystem::path& path() const noexcept { return m_path; }
  const DxLayout& layout() const noexcept { return m_layout; }
  const DxShape& shape() const noexcept { return m_shape; }
  const std::vector<double>& theta_radians() const noexcept { return m_theta; }
  bool theta_from_file() const noexcept { return m_theta_from_file; }

  // Rows [rows) of every projection, angle x row x column, as float.
  // Throws tomo.input.nan when a value is not finite.
  void read_projections(parallel::RowRange rows, float* out) const;
  // The same as stored, with no conversion, where the projections are
  // unsigned 16-bit integers (projections_are_uint16()).
  void read_projections(parallel::RowRange rows, std::uint16_t* out) const;
  bool projections_are_uint16() const noexcept { return m_projections_uint16; }
  // Rows [rows) of the projection at one angle, row x column.
  void read_projection(std::int64_t angle, parallel::RowRange rows, float* out) const;
  // Rows [rows) of every flat (dark) frame, frame x row x column. Nothing is
  // read when the dataset is absent. Flats: throws tomo.input.flat_nonpositive
  // where a pixel's mean over the frames is not positive.
  void read_flats(parallel::RowRange rows, float* out) const;
  void read_darks(parallel::RowRange rows, float* out) const;

  io::h5::Site site(const std::string& dataset = {}) const;

 private:
  void open_fields();
  void read_theta();
  void read_rows(hid_t dataset, const std::string& name, parallel::RowRange frames, parallel::RowRange rows, float* out) const;
  // After a read: throws tomo.input.unreadable when the file has become
  // shorter than HDF5's end of address space (cut short while being read:
  // HDF5's sec2 driver returns zeros for bytes past the end of the file).
  void check_not_cut_short(const std::string& dataset) const;

  std::filesystem::path m_path;
  DxLayout m_layout;
  io::h5::Handle m_file;
  io::h5::Handle m_data, m_flat, m_dark;
  DxShape m_shape;
  std::vector<double> m_theta;
  bool m_theta_from_file = false;
  bool m_projections_uint16 = false;
  int m_fd = -1;          // HDF5's descriptor of the file, opened without MPI-IO; else -1
  haddr_t m_eoa = 0;      // the file's end of address space when opened
};

}  // namespace beamflow::jobs
