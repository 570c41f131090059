#include "jobs/tomography/phantom_job.hpp"

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <numbers>
#include <random>

#include "jobs/tomography/dx_writer.hpp"
#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/kernel_errors.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "kernels/tomo/phantom.hpp"
#include "platform/output_file.hpp"

namespace beamflow::jobs {

std::filesystem::path truth_volume_path(const std::filesystem::path& output) {
  return output.parent_path() / (output.stem().string() + ".truth.h5");
}
std::filesystem::path truth_json_path(const std::filesystem::path& output) {
  return output.parent_path() / (output.stem().string() + ".truth.json");
}

namespace {

void validate(const PhantomOptions& o) {
  auto bad = [](const std::string& why) { return usage_error("phantom", why); };
  if (o.size < 8 || o.size > 16384) throw bad("--size must be 8..16384");
  if (o.angles < 2 || o.angles > 100000) throw bad("--angles must be 2..100000");
  if (!(o.arc >= 180 && o.arc <= 360)) throw bad("--arc must be 180..360 degrees");
  if (o.rows < 1 || o.rows > 16384) throw bad("--rows must be 1..16384");
  if (!(std::abs(o.center_offset) <= double(o.size) / 4))
    throw bad("--center-offset must be within a quarter of --size (the phantom must fit)");
  if (!(o.photons >= 0)) throw bad("--photons must be >= 0 (0: noise-free)");
  if (o.photons > 0 && o.photons * 1.25 + o.dark_level * 2 > 65535)
    throw bad("--photons and --dark-level overflow a 16-bit detector");
  if (o.flats < 1 || o.darks < 1) throw bad("--flats and --darks must be >= 1");
  if (!(o.dark_level >= 0)) throw bad("--dark-level must be >= 0");
  if (!(o.peak_attenuation > 0 && o.peak_attenuation < 20))
    throw bad("--peak-attenuation must be in (0, 20)");
  check_output_directory(o.output);
  if (std::filesystem::exists(o.output) && !o.overwrite)
    throw output_error("tomo.output.exists", "output exists; pass --overwrite to replace it",
                       {{"file", o.output.string()}});
  // Its side files follow the one output rule too, checked before anything is written.
  fs::check_output(o.output, {o.overwrite, {}}, "output");
  fs::check_output(truth_volume_path(o.output), {o.overwrite, {}}, "truth volume");
  fs::check_output(truth_json_path(o.output), {o.overwrite, {}}, "truth file");
}

// Open-beam profile: brighter in the middle of the beam, as on a beamline,
// so the normalisation by the flats matters.
double beam(std::int64_t row, std::int64_t col, std::int64_t rows, std::int64_t cols) {
  const double y = rows > 1 ? double(row) / double(rows - 1) - 0.5 : 0.0;
  const double x = double(col) / double(cols - 1) - 0.5;
  return 1.0 - 0.3 * y * y - 0.4 * x * x;
}

kernels::Angles evenly(std::int64_t n, double arc, std::vector<double>& degrees) {
  Kokkos::View<kernels::Real*> theta("beamflow::phantom::theta", n);
  auto host = Kokkos::create_mirror_view(theta);
  degrees.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    degrees[std::size_t(i)] = arc * double(i) / double(n);
    host(i) = kernels::Real(degrees[std::size_t(i)] * std::numbers::pi / 180.0);
  }
  Kokkos::deep_copy(theta, host);
  return theta;
}

void write_atomically(const std::filesystem::path& path, bool overwrite, const std::function<void(DxWriter&)>& fill) {
  fs::OutputFile file(path, {overwrite, {}});
  {
    DxWriter writer(file.temporary());
    fill(writer);
    writer.close();
  }
  file.commit();
}

}  // namespace

PhantomResult make_phantom(const PhantomOptions& o) {
  validate(o);
  const std::int64_t W = o.size, A = o.angles, R = o.rows;
  const std::int64_t margin = static_cast<std::int64_t>(std::ceil(std::abs(o.center_offset)));
  const std::int64_t grid = W - 2 * margin;
  PhantomResult result;
  result.data = o.output;
  result.truth_volume = truth_volume_path(o.output);
  result.truth_json = truth_json_path(o.output);
  result.center = double(W - 1) / 2 + o.center_offset;

  std::vector<double> degrees;
  const kernels::Angles theta = evenly(A, o.arc, degrees);
  auto ellipsoids = kernels::shepp_logan_ellipsoids();
  kernels::Sinograms sino("beamflow::phantom::sinograms", R, A, W);
  with_kernel_errors([&] { kernels::project_ellipsoids(ellipsoids, theta, result.center, sino, int(grid)); },
                     o.output.string());
  auto line = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sino);
  double peak = 0;
  for (std::size_t i = 0; i < line.size(); ++i) peak = std::max(peak, double(line.data()[i]));
  if (!(peak > 0)) throw usage_error("phantom", "the phantom projects to nothing; use more rows");
  result.attenuation_scale = o.peak_attenuation / peak;
  for (auto& e : ellipsoids) e.value *= result.attenuation_scale;

  // Detector counts, angle x row x column; Poisson noise unless noise-free.
  const bool noisy = o.photons > 0;
  const double open = noisy ? o.photons : 1e4;
  std::mt19937_64 random(o.seed);
  auto count = [&](double mean) {
    return noisy ? double(std::poisson_distribution<std::int64_t>(mean)(random)) : mean;
  };
  std::vector<float> data(static_cast<std::size_t>(A * R * W));
  for (std::int64_t a = 0; a < A; ++a)
    for (std::int64_t r = 0; r < R; ++r)
      for (std::int64_t c = 0; c < W; ++c) {
        const double integral = double(line(r, a, c)) * result.attenuation_scale;
        data[std::size_t((a * R + r) * W + c)] =
            float(count(open * beam(r, c, R, W) * std::exp(-integral)) + count(o.dark_level));
      }
  std::vector<float> flats(static_cast<std::size_t>(o.flats * R * W));
  for (std::int64_t f = 0; f < o.flats; ++f)
    for (std::int64_t r = 0; r < R; ++r)
      for (std::int64_t c = 0; c < W; ++c)
        flats[std::size_t((f * R + r) * W + c)] = float(count(open * beam(r, c, R, W)) + count(o.dark_level));
  std::vector<float> darks(static_cast<std::size_t>(o.darks * R * W));
  for (auto& d : darks) d = float(count(o.dark_level));

  const std::vector<hsize_t> shape{hsize_t(A), hsize_t(R), hsize_t(W)};
  write_atomically(o.output, o.overwrite, [&](DxWriter& w) {
    // A real detector's integers when noisy; exact floats when noise-free.
    auto put = [&](const std::string& name, std::vector<hsize_t> dims, const std::vector<float>& v) {
      if (noisy)
        w.write(name, dims, std::vector<std::uint16_t>(v.begin(), v.end()));
      else
        w.write(name, dims, v);
    };
    put("/exchange/data", shape, data);
    put("/exchange/data_white", {hsize_t(o.flats), hsize_t(R), hsize_t(W)}, flats);
    put("/exchange/data_dark", {hsize_t(o.darks), hsize_t(R), hsize_t(W)}, darks);
    w.write("/exchange/theta", {hsize_t(A)}, degrees);
    w.attribute("/exchange/theta", "units", "degrees");
  });

  // The truth on the reconstruction grid: the phantom's grid, centred.
  kernels::Volume phantom("beamflow::phantom::truth", R, grid, grid);
  with_kernel_errors([&] { kernels::phantom_3d(ellipsoids, phantom); }, o.output.string());
  auto small = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), phantom);
  std::vector<float> truth(static_cast<std::size_t>(R * W * W), 0.f);
  for (std::int64_t z = 0; z < R; ++z)
    for (std::int64_t y = 0; y < grid; ++y)
      for (std::int64_t x = 0; x < grid; ++x)
        truth[std::size_t((z * W + y + margin) * W + x + margin)] = small(z, y, x);
  write_atomically(result.truth_volume, o.overwrite, [&](DxWriter& w) {
    w.write("/exchange/data", {hsize_t(R), hsize_t(W), hsize_t(W)}, truth);
    w.attribute("/exchange/data", "units", "attenuation per pixel");
  });

  // File names only: the three files lie side by side.
  result.truth = {{"data_file", result.data.filename().string()},
                  {"volume_file", result.truth_volume.filename().string()},
                  {"volume_dataset", "/exchange/data"},
                  {"center", result.center},
                  {"center_offset", o.center_offset},
                  {"size", W},
                  {"angles", A},
                  {"arc", o.arc},
                  {"rows", R},
                  {"phantom_grid", grid},
                  {"photons", o.photons},
                  {"flats", o.flats},
                  {"darks", o.darks},
                  {"dark_level", o.dark_level},
                  {"peak_attenuation", o.peak_attenuation},
                  {"attenuation_scale", result.attenuation_scale},
                  {"seed", o.seed},
                  {"units", "attenuation per pixel"}};
  {
    fs::OutputFile file(result.truth_json, {o.overwrite, {}}, "truth file");
    std::ofstream json(file.temporary());
    json << result.truth.dump(2) << "\n";
    if (!json.flush())
      throw output_error("tomo.output.write", "cannot write the truth file", {{"file", result.truth_json.string()}});
    json.close();
    file.commit();
  }
  return result;
}

}  // namespace beamflow::jobs
