#include "kernels/tomo/recon.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::kernels {

Algorithm algorithm_from_name(std::string_view name) {
  if (name == "fbp") return Algorithm::Fbp;
  if (name == "gridrec") return Algorithm::Gridrec;
  throw Error(error_id::UnknownAlgorithm, "algorithm_from_name",
              "unknown algorithm '" + std::string(name) + "' (valid: fbp, gridrec)");
}

std::string_view algorithm_name(Algorithm algorithm) {
  return algorithm == Algorithm::Fbp ? "fbp" : "gridrec";
}

void prepare(Algorithm algorithm, int angles, int width, int n, const ReconParams& params) {
  if (algorithm == Algorithm::Fbp)
    detail::prepare_fbp(angles, width, params);
  else
    detail::prepare_gridrec(angles, width, n, params);
}

void prefault_workspace(Algorithm algorithm, Workspace& workspace, int angles, int width, int n, int pad) {
  if (algorithm == Algorithm::Gridrec) detail::prefault_gridrec(workspace, angles, width, n, pad);
}

std::int64_t workspace_bytes(Algorithm algorithm, std::int64_t angles, std::int64_t width, std::int64_t n,
                             int pad) {
  constexpr std::int64_t real = sizeof(Real), cplx = 2 * sizeof(Real);
  if (algorithm == Algorithm::Fbp) {
    const std::int64_t padded = padded_length(static_cast<int>(width), pad);
    // filtered rows [angle][padded], spectra [angle][padded/2+1], image n x n
    return angles * padded * real + angles * (padded / 2 + 1) * cplx + n * n * real;
  }
  const std::int64_t m = detail::gridrec_size(static_cast<int>(width), static_cast<int>(n), pad);
  return angles * m * cplx + m * m * cplx * (1 + detail::gridrec_grid_copies());
}

InPlaceLayout in_place_layout(std::int64_t rows, std::int64_t angles, std::int64_t width, std::int64_t n) {
  const auto slice = std::size_t(n * n), sinogram = std::size_t(angles * width), r = std::size_t(rows);
  // Slice i ends at (i + 1) slice; sinogram row i + 1 starts at
  // sinograms + (i + 1) sinogram, no earlier for every i < rows.
  return {r * std::max(slice, sinogram), slice > sinogram ? r * (slice - sinogram) : 0};
}

int row_group(Algorithm algorithm) { return algorithm == Algorithm::Gridrec ? 2 : 1; }

void reconstruct(Algorithm algorithm, Kokkos::View<const Real***> sino, Angles theta,
                 const ReconParams& params, Volume out) {
  switch (algorithm) {
    case Algorithm::Fbp:
      fbp(sino, theta, params, out);
      return;
    case Algorithm::Gridrec:
      gridrec(sino, theta, params, out);
      return;
  }
}

namespace detail {

std::vector<double> checked_centers(std::string_view where, Kokkos::View<const Real***> sino,
                                    Angles theta, const ReconParams& params, Volume out) {
  const std::string w(where);
  const auto rows = sino.extent(0);
  const auto dims = [](auto... e) {
    std::string s;
    ((s += (s.empty() ? "" : "x") + std::to_string(e)), ...);
    return s;
  };
  if (sino.extent(1) == 0 || sino.extent(2) == 0) {
    throw Error(error_id::Shape, w,
                "empty sinogram (" + dims(rows, sino.extent(1), sino.extent(2)) + ")");
  }
  if (theta.extent(0) != sino.extent(1)) {
    throw Error(error_id::Shape, w,
                "theta has " + std::to_string(theta.extent(0)) + " angles but the sinogram has " +
                    std::to_string(sino.extent(1)));
  }
  if (out.extent(0) != rows || out.extent(1) != out.extent(2) || out.extent(1) == 0) {
    throw Error(error_id::Shape, w,
                "output must be [rows][N][N] with rows = " + std::to_string(rows) + ", got " +
                    dims(out.extent(0), out.extent(1), out.extent(2)));
  }
  if (params.pad < 1 || params.pad > 16) {
    throw Error(error_id::Argument, w, "pad must be in 1..16, got " + std::to_string(params.pad));
  }
  const auto n_centers = params.centers.extent(0);
  if (n_centers != rows && n_centers != 1) {
    throw Error(error_id::Shape, w,
                "centers has " + std::to_string(n_centers) + " values; need 1 or one per row (" +
                    std::to_string(rows) + ")");
  }
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params.centers);
  std::vector<double> centers(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    centers[r] = host(n_centers == 1 ? 0 : r);
    if (!std::isfinite(centers[r])) {
      throw Error(error_id::Argument, w, "center of row " + std::to_string(r) + " is not finite");
    }
  }
  auto theta_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), theta);
  for (std::size_t a = 0; a < theta_host.extent(0); ++a) {
    if (!std::isfinite(theta_host(a))) {
      throw Error(error_id::Argument, w, "angle " + std::to_string(a) + " is not finite");
    }
  }
  return centers;
}

void angle_tables(Angles theta, Kokkos::View<Real*> cos_t, Kokkos::View<Real*> sin_t) {
  Kokkos::parallel_for(
      "beamflow::recon::angle_tables", Kokkos::RangePolicy<ExecSpace>(0, theta.extent(0)),
      KOKKOS_LAMBDA(int a) {
        const double t = theta(a);
        cos_t(a) = Real(math::cos(t));
        sin_t(a) = Real(math::sin(t));
      });
}

}  // namespace detail
}  // namespace beamflow::kernels
