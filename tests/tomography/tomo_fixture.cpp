#include "tomo_fixture.hpp"

#include <stdlib.h>

#include <cmath>
#include <limits>

#include "jobs/tomography/dx_writer.hpp"

namespace beamflow::jobs::testing {

const parallel::Comm& world() {
  static const parallel::Comm comm(MPI_COMM_WORLD);
  return comm;
}

ScratchDir::ScratchDir() {
  std::string made;
  if (world().is_root()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "beamflow-tomo-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    made = pattern;
  }
  m_path = world().broadcast(made);
}

ScratchDir::~ScratchDir() {
  world().barrier();
  std::error_code ec;
  if (world().is_root()) std::filesystem::remove_all(m_path, ec);
}

float dx_value(std::int64_t a, std::int64_t r, std::int64_t c) {
  return static_cast<float>(100 + 7 * a + 3 * r + c);
}

void write_dx(const std::filesystem::path& path, const DxSpec& s) {
  DxWriter w(path);
  const auto A = static_cast<hsize_t>(s.angles), R = static_cast<hsize_t>(s.rows),
             C = static_cast<hsize_t>(s.columns);
  std::vector<float> data(A * R * C);
  for (hsize_t a = 0; a < A; ++a)
    for (hsize_t r = 0; r < R; ++r)
      for (hsize_t c = 0; c < C; ++c)
        data[(a * R + r) * C + c] = dx_value(std::int64_t(a), std::int64_t(r), std::int64_t(c));
  if (s.nan_in_data) data[data.size() / 2] = std::numeric_limits<float>::quiet_NaN();
  if (s.uint16)
    w.write("/exchange/data", {A, R, C}, std::vector<std::uint16_t>(data.begin(), data.end()));
  else
    w.write("/exchange/data", {A, R, C}, data);
  const auto FC = static_cast<hsize_t>(s.flat_columns < 0 ? s.columns : s.flat_columns);
  if (s.with_flat)
    w.write("/exchange/data_white", {hsize_t(s.flats), R, FC},
            std::vector<float>(hsize_t(s.flats) * R * FC, s.flat_value));
  if (s.with_dark)
    w.write("/exchange/data_dark", {hsize_t(s.darks), R, C},
            std::vector<float>(hsize_t(s.darks) * R * C, 10.0f));
  if (s.with_theta) {
    const auto n = static_cast<hsize_t>(s.theta_length < 0 ? s.angles : s.theta_length);
    std::vector<double> theta(n);
    for (hsize_t i = 0; i < n; ++i) theta[i] = 180.0 * double(i) / double(n);
    w.write("/exchange/theta", {n}, theta);
    if (!s.theta_units.empty()) w.attribute("/exchange/theta", "units", s.theta_units);
  }
  w.close();
}

PhantomOptions small_phantom(const std::filesystem::path& output, std::int64_t size, std::int64_t angles,
                             std::int64_t rows) {
  PhantomOptions o;
  o.output = output;
  o.size = size;
  o.angles = angles;
  o.rows = rows;
  return o;
}


}  // namespace beamflow::jobs::testing
