#include "jobs/tomography/dxchange.hpp"

#include <sys/stat.h>

#include <cmath>
#include <numbers>

#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {

namespace {
std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? "x" : "") + std::to_string(dims[i]);
  return out.empty() ? "a scalar" : out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

io::h5::Site DxInput::site(const std::string& dataset) const {
  return {"tomo.input.unreadable", tomo_asl::Input, m_path.string(), dataset};
}

DxInput::DxInput(const std::filesystem::path& path, DxLayout layout, std::optional<MPI_Comm> comm)
    : m_path(path), m_layout(std::move(layout)) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m_path, ec))
    throw input_error("tomo.input.not_found", "input file does not exist or is not a file",
                      {{"file", m_path.string()}});
  // No sieve buffer: a chunk of rows is one piece per angle (and per flat
  // and dark frame), each further from the next than HDF5's 64 KiB sieve,
  // so through the sieve every piece read 64 KiB of the file and copied the
  // piece out of it: 4-8x the projections' bytes (8 KiB pieces at 2048 x 2
  // rows), on the main thread that shares its core with the kernel.
  m_file = io::h5::open_file(m_path, io::h5::Access::ReadOnly, comm, site(), 0, std::size_t{0});
  if (!comm) {
    // The file's length at open (HDF5 refuses a file shorter than this),
    // to tell a file cut short later: see check_not_cut_short.
    haddr_t eoa = 0;
    void* handle = nullptr;
    if (H5Fget_eoa(m_file.get(), &eoa) >= 0) m_eoa = eoa;
    if (m_eoa > 0 && H5Fget_vfd_handle(m_file.get(), H5P_DEFAULT, &handle) >= 0 && handle)
      m_fd = *static_cast<int*>(handle);
  }

  auto data = io::h5::try_open_dataset(m_file.get(), m_layout.data, site());
  if (!data)
    throw input_error("tomo.input.missing_dataset", "the projections dataset is missing",
                      {{"file", m_path.string()}, {"dataset", m_layout.data}});
  m_data = std::move(*data);
  const auto dims = io::h5::dims(m_data.get(), site(m_layout.data));
  if (dims.size() != 3 || dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
    throw input_error("tomo.input.shape",
                      "projections must be a non-empty angle x row x column array, not " + shape_text(dims),
                      {{"file", m_path.string()}, {"dataset", m_layout.data}});
  {
    io::h5::Handle type = io::h5::own(H5Dget_type(m_data.get()), site(m_layout.data), "cannot read type");
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
      throw input_error("tomo.input.type", "projections must be integers or floats",
                        {{"file", m_path.string()}, {"dataset", m_layout.data}});
    m_projections_uint16 = cls == H5T_INTEGER && H5Tget_size(type.get()) == 2 && H5Tget_sign(type.get()) == H5T_SGN_NONE;
  }
  m_shape.angles = static_cast<std::int64_t>(dims[0]);
  m_shape.rows = static_cast<std::int64_t>(dims[1]);
  m_shape.columns = static_cast<std::int64_t>(dims[2]);
  open_fields();
  read_theta();
}

void DxInput::open_fields() {
  auto open_field = [&](const std::string& name, io::h5::Handle& handle, std::int64_t& frames, const char* what) {
    auto dataset = io::h5::try_open_dataset(m_file.get(), name, site());
    if (!dataset) return;
    const auto dims = io::h5::dims(dataset->get(), site(name));
    if (dims.size() != 3 || dims[0] == 0 || static_cast<std::int64_t>(dims[1]) != m_shape.rows ||
        static_cast<std::int64_t>(dims[2]) != m_shape.columns)
      throw input_error("tomo.input.shape",
                        std::string(what) + " are " + shape_text(dims) + " but must be N x " +
                            std::to_string(m_shape.rows) + " x " + std::to_string(m_shape.columns) +
                            " (frames x the projections' rows x columns)",
                        {{"file", m_path.string()}, {"dataset", name}});
    frames = static_cast<std::int64_t>(dims[0]);
    handle = std::move(*dataset);
  };
  open_field(m_layout.flat, m_flat, m_shape.flats, "flat fields");
  open_field(m_layout.dark, m_dark, m_shape.darks, "dark fields");
}

void DxInput::read_theta() {
  const std::string& name = m_layout.theta;
  auto dataset = io::h5::try_open_dataset(m_file.get(), name, site());
  const auto n = static_cast<std::size_t>(m_shape.angles);
  if (!dataset) {
    m_theta.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_theta[i] = std::numbers::pi * double(i) / double(n);
    return;
  }
  m_theta_from_file = true;
  const auto dims = io::h5::dims(dataset->get(), site(name));
  if (dims.size() != 1 || dims[0] != n)
    throw input_error(
        "tomo.input.shape",
        "angles are " + shape_text(dims) + " but the projections have " + std::to_string(n) + " angles",
        {{"file", m_path.string()}, {"dataset", name}});
  m_theta.resize(n);
  io::h5::check(H5Dread(dataset->get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m_theta.data()),
            site(name), "cannot read the angles");
  const std::string units =
      lower(io::h5::read_string_attribute(dataset->get(), "units", site(name)).value_or("degrees"));
  if (units == "rad" || units == "radian" || units == "radians") return;
  if (units != "deg" && units != "degree" && units != "degrees")
    throw input_error("tomo.input.units", "angle units '" + units + "' are neither degrees nor radians",
                      {{"file", m_path.string()}, {"dataset", name}});
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(m_theta[i]))
      throw input_error("tomo.input.nan", "angle " + std::to_string(i) + " is not a finite number",
                        {{"file", m_path.string()}, {"dataset", name}});
    m_theta[i] *= std::numbers::pi / 180.0;
  }
}

void DxInput::check_not_cut_short(const std::string& dataset) const {
  struct stat st {};
  if (m_fd < 0 || ::fstat(m_fd, &st) != 0 || static_cast<haddr_t>(st.st_size) >= m_eoa) return;
  throw input_error("tomo.input.unreadable",
                    "the input file is now " + std::to_string(st.st_size) + " bytes, shorter than the " +
                        std::to_string(m_eoa) + " it had when opened (was it cut short while being read?)",
                    {{"file", m_path.string()}, {"dataset", dataset}});
}

void DxInput::read_rows(hid_t dataset, const std::string& name, parallel::RowRange frames, parallel::RowRange rows,
                        float* out) const {
  const std::vector<hsize_t> start{static_cast<hsize_t>(frames.begin), static_cast<hsize_t>(rows.begin), 0};
  const std::vector<hsize_t> count{static_cast<hsize_t>(frames.size()), static_cast<hsize_t>(rows.size()),
                                   static_cast<hsize_t>(m_shape.columns)};
  io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, site(name));
  io::h5::read_slab(dataset, start, count, H5T_NATIVE_FLOAT, out, dxpl.get(), site(name));
  check_not_cut_short(name);
  const std::size_t per_frame = static_cast<std::size_t>(rows.size() * m_shape.columns);
  const std::size_t total = static_cast<std::size_t>(frames.size()) * per_frame;
  for (std::size_t i = 0; i < total; ++i) {
    if (std::isfinite(out[i])) continue;
    const std::size_t frame = static_cast<std::size_t>(frames.begin) + i / per_frame;
    const std::size_t row = (i % per_frame) / static_cast<std::size_t>(m_shape.columns);
    const std::size_t col = i % static_cast<std::size_t>(m_shape.columns);
    throw input_error("tomo.input.nan",
                      "value at frame " + std::to_string(frame) + ", row " +
                          std::to_string(rows.begin + static_cast<std::int64_t>(row)) + ", column " +
                          std::to_string(col) + " is not a finite number",
                      {{"file", m_path.string()}, {"dataset", name}});
  }
}

void DxInput::read_projections(parallel::RowRange rows, float* out) const {
  read_rows(m_data.get(), m_layout.data, {0, m_shape.angles}, rows, out);
}

void DxInput::read_projections(parallel::RowRange rows, std::uint16_t* out) const {
  const std::string& name = m_layout.data;
  if (!m_projections_uint16)
    throw input_error("tomo.input.type", "projections are not unsigned 16-bit integers",
                      {{"file", m_path.string()}, {"dataset", name}});
  const std::vector<hsize_t> start{0, static_cast<hsize_t>(rows.begin), 0};
  const std::vector<hsize_t> count{static_cast<hsize_t>(m_shape.angles), static_cast<hsize_t>(rows.size()),
                                   static_cast<hsize_t>(m_shape.columns)};
  io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, site(name));
  io::h5::read_slab(m_data.get(), start, count, H5T_NATIVE_UINT16, out, dxpl.get(), site(name));
  check_not_cut_short(name);
}

void DxInput::read_projection(std::int64_t angle, parallel::RowRange rows, float* out) const {
  read_rows(m_data.get(), m_layout.data, {angle, angle + 1}, rows, out);
}

void DxInput::read_flats(parallel::RowRange rows, float* out) const {
  if (!m_flat) return;
  read_rows(m_flat.get(), m_layout.flat, {0, m_shape.flats}, rows, out);
  const std::size_t per_frame = static_cast<std::size_t>(rows.size() * m_shape.columns);
  for (std::size_t p = 0; p < per_frame; ++p) {
    double sum = 0;
    for (std::int64_t f = 0; f < m_shape.flats; ++f) sum += out[static_cast<std::size_t>(f) * per_frame + p];
    if (sum > 0) continue;
    const auto columns = static_cast<std::size_t>(m_shape.columns);
    throw input_error(
        "tomo.input.flat_nonpositive",
        "flat field at row " + std::to_string(rows.begin + std::int64_t(p / columns)) + ", column " +
            std::to_string(p % columns) + " is not positive (mean over the frames " +
            std::to_string(sum / double(m_shape.flats)) + "); normalising by it would divide by zero",
        {{"file", m_path.string()}, {"dataset", m_layout.flat}});
  }
}

void DxInput::read_darks(parallel::RowRange rows, float* out) const {
  if (!m_dark) return;
  read_rows(m_dark.get(), m_layout.dark, {0, m_shape.darks}, rows, out);
}

}  // namespace beamflow::jobs
