// Gridrec: direct Fourier reconstruction by gridding (Dowd et al., "Developments
// in synchrotron x-ray computed microtomography at the National Synchrotron
// Light Source", Proc. SPIE 3772, 1999; the algorithm of TomoPy's gridrec.c).
//
// Per pair of sinogram rows (packed as real and imaginary parts of one complex
// row, the classic gridrec trick):
//   1. each angle's zero-padded row is Fourier transformed (length M);
//   2. the two rows' spectra are separated, filtered (the same band-limited
//      ramp and window as fbp, times fbp's interpolation), phase-shifted
//      to the rotation axis of each row, recombined, and convolved onto an
//      M x M Cartesian grid with a separable Kaiser-Bessel kernel (Jackson
//      et al., IEEE TMI 10(3), 1991; width 4, beta from Beatty et al.,
//      IEEE TMI 24(6), 2005);
//   3. one inverse 2-D FFT gives both images: every grid row along x, then
//      only the N columns the image needs along y (the grid's x frequencies
//      carry (-1)^u, folded into the kernel's weights, so those columns lie
//      together in the middle of the grid instead of at both ends): the
//      column pass is the strided, copying half of a 2-D FFT, and skipping
//      the M - N columns no pixel reads cut the transform's time by 27-32%
//      at M = 1024, 2048 and 4096 (FFTW 3.3.10, pad 2);
//   4. the central N x N pixels are divided by the kernel's Fourier transform
//      (deapodisation) and written out.
// Unlike TomoPy, each row of a pair keeps its own centre, and the image is
// placed with the axis at (N-1)/2 exactly (a half-pixel phase shift for even
// N) so gridrec and fbp agree pixel for pixel.
#include <Kokkos_ScatterView.hpp>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/common/device_math.hpp"
#include "kernels/common/fft.hpp"
#include "kernels/common/host_pages.hpp"
#include "kernels/tomo/recon.hpp"

namespace beamflow::kernels {
namespace {

using Cplx = Kokkos::complex<Real>;
using GridView = Kokkos::View<Cplx**, Kokkos::LayoutRight>;

constexpr int kHalfWidth = 2;     // kernel support |d| < 2 grid cells: 4 taps per axis
constexpr int kTableSize = 4096;  // samples of the kernel over [0, kHalfWidth]

double bessel_i0(double x) {
  double term = 1.0, sum = 1.0;
  const double q = 0.25 * x * x;
  for (int k = 1; k < 200 && term > 1e-17 * sum; ++k) {
    term *= q / (double(k) * double(k));
    sum += term;
  }
  return sum;
}

// Kaiser-Bessel kernel of width 2*kHalfWidth grid cells, normalised to 1 at 0.
struct KaiserBessel {
  double beta;
  double width = 2.0 * kHalfWidth;

  // beta for grid oversampling alpha (Beatty et al. 2005, eq. 5).
  static KaiserBessel for_oversampling(double alpha) {
    const double w = 2.0 * kHalfWidth;
    const double b2 = (w / alpha) * (w / alpha) * (alpha - 0.5) * (alpha - 0.5) - 0.8;
    return KaiserBessel{math::pi * std::sqrt(b2 > 1e-3 ? b2 : 1e-3)};
  }
  double value(double d) const {
    const double r = 2.0 * d / width;
    if (r >= 1.0) return 0.0;
    return bessel_i0(beta * std::sqrt(1.0 - r * r)) / bessel_i0(beta);
  }
  // Continuous Fourier transform at t cycles per grid cell.
  double transform(double t) const {
    const double z2 = beta * beta - (math::pi * width * t) * (math::pi * width * t);
    double g;
    if (z2 > 1e-12) {
      const double z = std::sqrt(z2);
      g = std::sinh(z) / z;
    } else if (z2 < -1e-12) {
      const double z = std::sqrt(-z2);
      g = std::sin(z) / z;
    } else {
      g = 1.0;
    }
    return width * g / bessel_i0(beta);
  }
};

// Phase 2: filter, shift and grid one angle's spectrum (both rows of a pair).
struct GridAngle {
  Kokkos::View<const Cplx**, Kokkos::LayoutRight> spectra;  // [angle][M]
  Kokkos::Experimental::ScatterView<Cplx**, Kokkos::LayoutRight> grid;
  Kokkos::View<const Real*> response;             // [M/2], filter * weights
  Kokkos::View<const Real*> kernel;               // [kTableSize + 2]
  Kokkos::View<const Real*> cos_t, sin_t, shift;  // shift: image half-pixel per angle
  double center0, center1;
  int m;

  KOKKOS_INLINE_FUNCTION void operator()(int a) const {
    auto h = grid.access();
    const int mask = m - 1;
    const int half = m / 2;
    const Real ca = cos_t(a), sa = sin_t(a);
    const Real scale = Real(kTableSize) / Real(kHalfWidth);
    // Phase e^{+i 2 pi j (c + shift) / M} by recurrence, in double.
    const double w0 = 2.0 * math::pi * (center0 + shift(a)) / m;
    const double w1 = 2.0 * math::pi * (center1 + shift(a)) / m;
    const double s0r = math::cos(w0), s0i = math::sin(w0);
    const double s1r = math::cos(w1), s1i = math::sin(w1);
    double p0r = 1, p0i = 0, p1r = 1, p1i = 0;
    for (int j = 0; j < half; ++j) {
      const Cplx zp = spectra(a, j);
      const Cplx zm = j == 0 ? zp : spectra(a, m - j);
      // Row 0's spectrum A = (zp + conj zm)/2, row 1's B = (zp - conj zm)/(2i).
      const Real ar = Real(0.5) * (zp.real() + zm.real());
      const Real ai = Real(0.5) * (zp.imag() - zm.imag());
      const Real br = Real(0.5) * (zp.imag() + zm.imag());
      const Real bi = Real(-0.5) * (zp.real() - zm.real());
      const Real f = response(j);
      const Real a_r = f * Real(ar * p0r - ai * p0i), a_i = f * Real(ar * p0i + ai * p0r);
      const Real b_r = f * Real(br * p1r - bi * p1i), b_i = f * Real(br * p1i + bi * p1r);
      // +k carries A + iB, -k carries conj(A) + i conj(B).
      const Cplx gp(a_r - b_i, a_i + b_r);
      const Cplx gm(a_r + b_i, -a_i + b_r);

      const Real u = Real(half) + Real(j) * ca;
      const Real v = Real(half) + Real(j) * sa;
      const int u0 = int(math::floor(u)) - 1;
      const int v0 = int(math::floor(v)) - 1;
      Real wu[4], wv[4];
      // (-1)^u: the x transform's output moves by M/2 (Transforms); m is
      // even, so a tap and its mirror (m - u) have the same sign.
      const Real sign = (u0 & 1) ? Real(-1) : Real(1);
      for (int k = 0; k < 4; ++k) {
        wu[k] = (k & 1 ? -sign : sign) * kernel(int(math::fabs(u - Real(u0 + k)) * scale + Real(0.5)));
        wv[k] = kernel(int(math::fabs(v - Real(v0 + k)) * scale + Real(0.5)));
      }
      for (int kv = 0; kv < 4; ++kv) {
        const int row = (v0 + kv) & mask;
        const int mrow = (m - v0 - kv) & mask;
        for (int ku = 0; ku < 4; ++ku) {
          const Real w = wv[kv] * wu[ku];
          h((row), (u0 + ku) & mask) += w * gp;
          if (j > 0) h(mrow, (m - u0 - ku) & mask) += w * gm;
        }
      }
      const double t0 = p0r * s0r - p0i * s0i;
      p0i = p0r * s0i + p0i * s0r;
      p0r = t0;
      const double t1 = p1r * s1r - p1i * s1i;
      p1i = p1r * s1i + p1i * s1r;
      p1r = t1;
    }
  }
};

// The transforms of a pair: every angle's row forward, then the grid back,
// its rows along x and the columns the image reads along y. With the
// (-1)^u of GridAngle, image column ix is grid column ix + m/2 - n/2; the
// column pass starts at a multiple of 8 (64 bytes: FFTW's aligned plans
// for every SIMD width) at or before it.
struct Transforms {
  fft::Layout rows, grid_rows, grid_columns;
  int image_column0;  // grid column of image column 0
  int first_column;   // of the column pass
  Transforms(int m, int n, int angles)
      : image_column0(m / 2 - n / 2), first_column(image_column0 / 8 * 8) {
    rows.kind = fft::Kind::Forward;
    rows.n = {m, 1};
    rows.howmany = angles;
    grid_rows.kind = fft::Kind::Backward;
    grid_rows.n = {m, 1};
    grid_rows.howmany = m;
    grid_columns.kind = fft::Kind::Backward;
    grid_columns.n = {m, 1};
    grid_columns.howmany = image_column0 - first_column + n;
    grid_columns.in_stride = grid_columns.out_stride = m;
    grid_columns.in_dist = grid_columns.out_dist = 1;
  }
};

int grid_size(int width, int n, int pad) { return padded_length(width > n ? width : n, pad); }

}  // namespace

namespace detail {
std::int64_t gridrec_size(int width, int n, int pad) { return grid_size(width, n, pad); }
std::int64_t gridrec_grid_copies() {
  using Duplication = Kokkos::Impl::Experimental::DefaultDuplication<ExecSpace>::type;
  if constexpr (std::is_same_v<Duplication, Kokkos::Experimental::ScatterDuplicated>)
    return ExecSpace().concurrency();
  else
    return 0;
}

void prepare_gridrec(int angles, int width, int n, const ReconParams& params) {
  const Transforms t(grid_size(width, n, params.pad), n, angles);
  fft::plan(t.rows, true);
  fft::plan(t.grid_rows, true);
  fft::plan(t.grid_columns, true);
}
}  // namespace detail

// Spectra and grid in huge pages where the host has them (host_pages.hpp):
// 11 MiB a rank at 512 columns, 177 MiB at 2048, first touched by the pack
// and by the grid's first zeroing, 4 KiB at a time otherwise. Only the
// memory is kept: each call makes its views over it.
struct Workspace {
  using Memory = LargeArray<Cplx, GridView::memory_space>;
  Memory spectra_memory, grid_memory;
};

std::shared_ptr<Workspace> make_workspace() { return std::make_shared<Workspace>(); }

WorkspaceArrays workspace_arrays(const Workspace& ws) {
  return {ws.spectra_memory.data(), ws.spectra_memory.size() * sizeof(Cplx), ws.grid_memory.data(),
          ws.grid_memory.size() * sizeof(Cplx)};
}

namespace {
// `ws`'s arrays for `angles` x m spectra and an m x m grid, allocated anew
// only when their sizes differ (the old ones freed first).
void fit(Workspace& ws, int angles, int m) {
  const std::size_t spectra = std::size_t(angles) * std::size_t(m), grid = std::size_t(m) * std::size_t(m);
  if (ws.spectra_memory.size() != spectra) {
    ws.spectra_memory = Workspace::Memory();
    ws.spectra_memory = Workspace::Memory("beamflow::gridrec::spectra", spectra);
  }
  if (ws.grid_memory.size() != grid) {
    ws.grid_memory = Workspace::Memory();
    ws.grid_memory = Workspace::Memory("beamflow::gridrec::grid", grid);
  }
}
}  // namespace

namespace detail {
void prefault_gridrec(Workspace& ws, int angles, int width, int n, int pad) {
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, GridView::memory_space>::accessible) {
    return;  // device memory: allocated by the first call, on its thread
  } else {
    fit(ws, angles, grid_size(width, n, pad));
    // Every call packs every spectrum value and zeroes the grid before
    // reading either: what is written here is never read.
    std::memset(static_cast<void*>(ws.spectra_memory.data()), 0, ws.spectra_memory.size() * sizeof(Cplx));
    std::memset(static_cast<void*>(ws.grid_memory.data()), 0, ws.grid_memory.size() * sizeof(Cplx));
  }
}
}  // namespace detail

void gridrec(Kokkos::View<const Real***> sino, Angles theta, const ReconParams& params,
             Volume out) {
  const std::vector<double> centers = detail::checked_centers("gridrec", sino, theta, params, out);
  const int rows = static_cast<int>(sino.extent(0));
  const int angles = static_cast<int>(sino.extent(1));
  const int width = static_cast<int>(sino.extent(2));
  const int n = static_cast<int>(out.extent(1));
  if (rows == 0) return;
  const int m = grid_size(width, n, params.pad);
  const int half = m / 2;
  const int mask = m - 1;

  // Tables, made once per call.
  const KaiserBessel kb = KaiserBessel::for_oversampling(double(m) / n);
  Kokkos::View<Real*> kernel("beamflow::gridrec::kernel", kTableSize + 2);
  Kokkos::View<Real*> deapod("beamflow::gridrec::deapod", m);
  Kokkos::View<Real*> response("beamflow::gridrec::response", half);
  {
    auto k = Kokkos::create_mirror_view(kernel);
    for (int i = 0; i < kTableSize + 2; ++i)
      k(i) = Real(kb.value(double(i) * kHalfWidth / kTableSize));
    Kokkos::deep_copy(kernel, k);
    // (-1)^x moves the grid's centred origin to index 0 of the inverse FFT.
    auto d = Kokkos::create_mirror_view(deapod);
    for (int i = 0; i < m; ++i) {
      const int x = i < half ? i : i - m;
      d(i) = Real((i % 2 ? -1.0 : 1.0) / kb.transform(double(x) / m));
    }
    Kokkos::deep_copy(deapod, d);
    // Polar quadrature weight (pi / angles) * (1 / M) times the filter and
    // sinc^2: fbp back-projects with linear interpolation, a convolution
    // with a one-pixel triangle, and gridrec applies that triangle's
    // transfer function so both give the same image (same resolution and
    // noise) up to discretisation. TomoPy's gridrec omits it and comes out
    // sharper and noisier: 1.5 to 2.5 dB below fbp on the 1e4-photon
    // phantoms of bench/tomography.
    const std::vector<double> filter = filter_response(params.filter, m);
    auto f = Kokkos::create_mirror_view(response);
    for (int j = 0; j < half; ++j) {
      const double x = math::pi * j / m;
      const double sinc = j == 0 ? 1.0 : std::sin(x) / x;
      f(j) = Real(filter[j] * sinc * sinc * math::pi / angles / m);
    }
    Kokkos::deep_copy(response, f);
  }
  Kokkos::View<Real*> cos_t("beamflow::gridrec::cos", angles);
  Kokkos::View<Real*> sin_t("beamflow::gridrec::sin", angles);
  detail::angle_tables(theta, cos_t, sin_t);
  // Pixel (iy, ix) is evaluated at integer offsets from (n/2, n/2); the axis
  // is at (n-1)/2, so shift the image by delta = n/2 - (n-1)/2 in x and
  // -delta in y, i.e. each projection by delta (cos - sin).
  const Real delta = Real(n / 2) - Real(0.5) * Real(n - 1);
  Kokkos::View<Real*> shift("beamflow::gridrec::shift", angles);
  Kokkos::parallel_for(
      "beamflow::gridrec::shift", Kokkos::RangePolicy<ExecSpace>(0, angles),
      KOKKOS_LAMBDA(int a) { shift(a) = delta * (cos_t(a) - sin_t(a)); });

  Workspace local;
  Workspace& ws = params.workspace ? *params.workspace : local;
  fit(ws, angles, m);
  GridView spectra(ws.spectra_memory.data(), angles, m), grid(ws.grid_memory.data(), m, m);
  Kokkos::Experimental::ScatterView<Cplx**, Kokkos::LayoutRight> scatter(grid);

  const Transforms transforms(m, n, angles);
  const auto columns = Kokkos::subview(
      grid, Kokkos::ALL, Kokkos::pair<int, int>(transforms.first_column,
                                                transforms.first_column + transforms.grid_columns.howmany));
  const int column0 = transforms.image_column0;

  GridAngle grid_angle{spectra, scatter, response, kernel, cos_t, sin_t, shift, 0.0, 0.0, m};
  const int origin = n / 2;
  for (int r0 = 0; r0 < rows; r0 += 2) {
    const bool pair = r0 + 1 < rows;
    const int r1 = pair ? r0 + 1 : r0;
    Kokkos::parallel_for(
        "beamflow::gridrec::pack",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {angles, m}),
        KOKKOS_LAMBDA(int a, int j) {
          spectra(a, j) =
              j < width ? Cplx(sino(r0, a, j), pair ? sino(r1, a, j) : Real(0)) : Cplx(0, 0);
        });
    fft::execute(transforms.rows, spectra, spectra);

    Kokkos::deep_copy(grid, Cplx(0, 0));
    scatter.reset_except(grid);
    grid_angle.center0 = centers[r0];
    grid_angle.center1 = centers[r1];
    Kokkos::parallel_for("beamflow::gridrec::grid", Kokkos::RangePolicy<ExecSpace>(0, angles),
                         grid_angle);
    Kokkos::Experimental::contribute(grid, scatter);

    fft::execute(transforms.grid_rows, grid, grid);
    fft::execute(transforms.grid_columns, columns, columns);

    Kokkos::parallel_for(
        "beamflow::gridrec::extract",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {n, n}),
        KOKKOS_LAMBDA(int iy, int ix) {
          const int gy = (origin - iy) & mask;
          const int gx = (ix - origin) & mask;
          const Real w = deapod(gy) * deapod(gx);
          const Cplx v = grid(gy, column0 + ix);
          out(r0, iy, ix) = w * v.real();
          if (pair) out(r1, iy, ix) = w * v.imag();
        });
  }
}

}  // namespace beamflow::kernels
