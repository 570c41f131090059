#pragma once
// Reconstruction: one signature for every algorithm, so jobs/ picks by name.
//
// Geometry (shared with phantom.hpp's projectors): detector column u has its
// centre at u (0-based); the rotation axis passes through column
// centers[row]. The output grid is N x N (N = out.extent(1)), pixel (iy, ix)
// at x = ix - (N-1)/2, y = (N-1)/2 - iy (y up, row 0 at the top), so the axis
// sits at the grid centre. A ray at angle theta through detector coordinate
// s = u - center integrates along x cos(theta) + y sin(theta) = s.
// Output is attenuation per pixel: a uniform disc of mu per pixel
// reconstructs to mu. Angles are radians, spread uniformly over [0, pi) or
// [0, 2 pi) (the back-projection weight is pi / angles).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "kernels/tomo/filters.hpp"
#include "kernels/common/views.hpp"

namespace beamflow::kernels {

// Scratch arrays a reconstruction keeps between calls of the same shape
// (gridrec's padded spectra and Fourier grid, hundreds of MB for wide
// detectors): a job reconstructing chunk after chunk passes one Workspace
// to every call instead of allocating them, and having the OS hand out and
// zero fresh pages, for each chunk. One call at a time may use a Workspace.
// Destroy it before Kokkos is finalised.
struct Workspace;
std::shared_ptr<Workspace> make_workspace();

struct ReconParams {
  Filter filter = Filter::Shepp;
  // Rows are zero-padded to the next power of two >= pad * columns before
  // filtering; gridrec also sizes its Fourier grid with it (pad 2 leaves the
  // image well inside the grid; pad 1 is TomoPy's gridrec, about 4x faster).
  int pad = 2;
  // Rotation-axis column per sinogram row, or a single value for all rows.
  Kokkos::View<const Real*> centers;
  // Optional: arrays kept between calls (make_workspace()); null allocates
  // them for this call only.
  std::shared_ptr<Workspace> workspace;
};

// sino [row][angle][column] -> out [row][N][N]. Both consume rows in order:
// a row's sinogram is read before its slice is written, and none is read
// after the slice of its row (or of a later row) is written. So out may lie
// over sino as in_place_layout() places them.
void fbp(Kokkos::View<const Real***> sino, Angles theta, const ReconParams& params, Volume out);
void gridrec(Kokkos::View<const Real***> sino, Angles theta, const ReconParams& params, Volume out);

enum class Algorithm { Fbp, Gridrec };
// "fbp" or "gridrec"; anything else throws kernels.recon.unknown_algorithm.
Algorithm algorithm_from_name(std::string_view name);
std::string_view algorithm_name(Algorithm algorithm);
// Rows an algorithm computes together: gridrec packs rows 2k and 2k+1 of
// its input into one complex transform (the last row of an odd count goes
// alone), fbp takes rows one by one. A row's values depend on its partner
// in the last bits, so jobs that cut rows into chunks at multiples of this
// get the same bits for every slice however they cut.
int row_group(Algorithm algorithm);
void reconstruct(Algorithm algorithm, Kokkos::View<const Real***> sino, Angles theta,
                 const ReconParams& params, Volume out);

// One buffer for a call's sinograms and its slices, so that a job holds and
// first-touches one chunk-sized buffer instead of two (each new page costs a
// fault, and on the VMs this runs on often a host's). The slices start at 0
// (out rows of n x n values), the sinograms at `sinograms` (rows of angles x
// width values): slice i ends at or before sinogram row i + 1 starts, so
// writing it overwrites only sinograms of rows <= i, all read already.
struct InPlaceLayout {
  std::size_t values = 0;     // the buffer's Reals: rows x max(n x n, angles x width)
  std::size_t sinograms = 0;  // offset of sinogram row 0, in Reals
};
InPlaceLayout in_place_layout(std::int64_t rows, std::int64_t angles, std::int64_t width, std::int64_t n);
// Bytes one reconstruct() call allocates besides its input and output,
// whatever its row count: fbp's padded filter rows and spectra and its slice
// image; gridrec's padded spectra, its M x M Fourier grid (M = the padded
// length) and the grid's per-thread copies where the backend duplicates
// scatter-adds (OpenMP). Jobs add this to their memory budget accounting.
std::int64_t workspace_bytes(Algorithm algorithm, std::int64_t angles, std::int64_t width, std::int64_t n,
                             int pad);

// Allocates the arrays reconstruct() keeps in `workspace` for sinograms of
// `angles` x `width` columns into n x n slices with `pad`, and writes every
// page of them, so that a job pays for that memory (a page fault a page: on
// the VMs this runs on, where the host takes freed memory back, up to 2 ms
// a MiB when it is fresh, 0.2-0.5 s a rank at 2048 x 1500) on a thread of its own
// before its first call needs it, instead of inside that call. Nothing
// written here is ever read: every call overwrites the arrays first. fbp
// keeps nothing (a no-op), nor does a device memory space (the first call
// allocates there). Uses no Kokkos: may run while Kokkos starts. Not
// concurrently with a call using the same workspace. Throws std::bad_alloc.
void prefault_workspace(Algorithm algorithm, Workspace& workspace, int angles, int width, int n, int pad);
// What a workspace holds now (for tests): its arrays and their bytes.
struct WorkspaceArrays {
  const void* spectra = nullptr;
  std::size_t spectra_bytes = 0;
  const void* grid = nullptr;
  std::size_t grid_bytes = 0;
};
WorkspaceArrays workspace_arrays(const Workspace& workspace);

// Makes the FFT plans reconstruct() uses for sinograms of `angles` x
// `width` columns into n x n slices, computing nothing else, so a job can
// have one rank choose the plans and share them (fft::export_wisdom).
// params.centers is not used.
void prepare(Algorithm algorithm, int angles, int width, int n, const ReconParams& params);

namespace detail {
// Checks extents and parameters (throws kernels.shape / kernels.argument) and
// returns the centres on the host, one per row.
std::vector<double> checked_centers(std::string_view where, Kokkos::View<const Real***> sino,
                                    Angles theta, const ReconParams& params, Volume out);
void prepare_fbp(int angles, int width, const ReconParams& params);
void prepare_gridrec(int angles, int width, int n, const ReconParams& params);
void prefault_gridrec(Workspace& workspace, int angles, int width, int n, int pad);
// gridrec's Fourier grid is M x M with M = gridrec_size(...), plus
// gridrec_grid_copies() duplicates for its scatter-adds (0 unless the
// backend duplicates, e.g. OpenMP: one per thread).
std::int64_t gridrec_size(int width, int n, int pad);
std::int64_t gridrec_grid_copies();
// cos and sin of every angle, computed in double.
void angle_tables(Angles theta, Kokkos::View<Real*> cos_t, Kokkos::View<Real*> sin_t);
}  // namespace detail

}  // namespace beamflow::kernels
