#pragma once
// The one FFTW wrapper (fftw3.h is included by fft.cpp only).
//
// Callers describe a batch of transforms with a Layout and execute it on
// their own arrays; the plan for that layout is made once per process and
// cached, so no kernel plans (or allocates for planning) per slice. FFTW's
// planner is not thread safe, so planning and the cache sit behind one mutex;
// executing a finished plan on new arrays is thread safe and takes no lock.
// Arrays whose alignment differs from what FFTW planned for get a separate
// FFTW_UNALIGNED plan instead of undefined behaviour.
//
// FFTW runs on the host. The View overloads at the bottom stage data through
// host mirrors when a View lives in device memory, so every kernel compiles
// unchanged for device backends (a CUDA build would swap this file for cuFFT).
#include <Kokkos_Core.hpp>
#include <array>
#include <compare>
#include <complex>
#include <string>
#include <string_view>

namespace beamflow::kernels::fft {

using Complex = std::complex<float>;

enum class Kind {
  RealToComplex,  // forward, e^{-i}
  ComplexToReal,  // backward, e^{+i}; destroys its input
  Forward,        // complex, e^{-i}
  Backward,       // complex, e^{+i}
};

// How hard FFTW searches for a fast plan. Measure (the default) costs
// milliseconds to a few seconds per new shape and pays off over the many
// slices a job transforms with the same shape. WisdomOnly plans only shapes
// found in imported wisdom and fails (kernels.fft.plan) for any other, for
// jobs that must not spend time planning.
enum class Effort { Estimate, Measure, Patient, WisdomOnly };

// `howmany` transforms of rank 1 (n[0]) or 2 (n[0] x n[1], row-major).
// Elements of one transform are `stride` apart (rank 1 only), transforms are
// `dist` apart; dist 0 means packed (the transform's element count, with
// n/2+1 complex values along the last axis of real transforms).
struct Layout {
  Kind kind = Kind::Forward;
  int rank = 1;
  std::array<int, 2> n{0, 1};
  int howmany = 1;
  int in_stride = 1;
  int out_stride = 1;
  int in_dist = 0;
  int out_dist = 0;
  // Executed once or a few times (a centre search, a filter's response):
  // planned with FFTW_ESTIMATE whatever the effort, because measuring would
  // cost more than every execution it could speed up.
  bool once = false;
  friend auto operator<=>(const Layout&, const Layout&) = default;
};

// Pointer overloads; `in` may equal `out` (in place) for every kind. The kind
// must match the overload (a mismatch throws kernels::Error kernels.argument).
void execute(const Layout& layout, const float* in, Complex* out);  // RealToComplex
void execute(const Layout& layout, Complex* in, float* out);        // ComplexToReal
void execute(const Layout& layout, Complex* in, Complex* out);      // Forward, Backward

// Makes (and caches) the plan execute() uses for `layout` on arrays that
// fftwf_malloc or Kokkos allocated, in place or not, without transforming
// anything: for a job that only wants the plans chosen (and its wisdom).
void plan(const Layout& layout, bool in_place);
void set_effort(Effort effort);
Effort effort();
// FFTW wisdom: the plans chosen so far, as text. Importing replaces this
// process's wisdom (false if FFTW cannot parse the text) and drops every
// cached plan, so each transform is planned again and follows the imported
// choices: processes that import the same wisdom execute the same plans and
// round identically.
std::string export_wisdom();
bool import_wisdom(std::string_view wisdom);
// FFTW's version string (wisdom is only meaningful to the same version).
std::string library_version();
// Smallest n >= min_size whose only prime factors are 2, 3 and 5 (sizes
// FFTW transforms fastest).
int good_size(int min_size);
// Number of distinct plans made so far (the cache size).
std::size_t cached_plans();

namespace detail {
inline float* raw(float* p) { return p; }
inline const float* raw(const float* p) { return p; }
inline Complex* raw(Kokkos::complex<float>* p) { return reinterpret_cast<Complex*>(p); }
inline Complex* raw(Complex* p) { return p; }
}  // namespace detail

// View overloads: the Views hold exactly the arrays the layout describes
// (contiguous spans). Device Views are staged through host mirrors.
template <class InView, class OutView>
requires(Kokkos::is_view<InView>::value&& Kokkos::is_view<OutView>::value) void execute(
    const Layout& layout, const InView& in, const OutView& out) {
  using HostSpace = Kokkos::HostSpace;
  constexpr bool in_host =
      Kokkos::SpaceAccessibility<HostSpace, typename InView::memory_space>::accessible;
  constexpr bool out_host =
      Kokkos::SpaceAccessibility<HostSpace, typename OutView::memory_space>::accessible;
  if constexpr (in_host && out_host) {
    execute(layout, detail::raw(in.data()), detail::raw(out.data()));
  } else {
    auto host_in = Kokkos::create_mirror_view_and_copy(HostSpace(), in);
    if (static_cast<const void*>(in.data()) == static_cast<const void*>(out.data())) {
      execute(layout, detail::raw(host_in.data()), detail::raw(host_in.data()));
      Kokkos::deep_copy(in, host_in);
    } else {
      auto host_out = Kokkos::create_mirror_view(out);
      execute(layout, detail::raw(host_in.data()), detail::raw(host_out.data()));
      Kokkos::deep_copy(out, host_out);
    }
  }
}

}  // namespace beamflow::kernels::fft
