#pragma once
// Rotation-centre estimation. Both methods pair each projection with the one
// 180 degrees away, mirrored: if the axis passes through column c of an
// N-column detector, the mirrored copy matches after a shift s = 2c - (N-1),
// so c = (N-1)/2 + s/2 (recon.hpp's convention: pixel centres at integers).
#include "kernels/common/views.hpp"

namespace beamflow::kernels {

struct CenterEstimate {
  double center;  // detector column of the rotation axis (0-based)
  // 0..1, higher is more trustworthy; each method documents its measure.
  // 0 also flags a result on the border of the search range.
  double confidence;
};

struct VoParams {
  // Centres within (N-1)/2 +- search_radius columns are tried (TomoPy's
  // smin/smax = -+50 shift steps correspond to 25).
  double search_radius = 32;
  // Radius of the object as a fraction of half the detector width (Vo's
  // "ratio"): sets the double-wedge outside which a centred sinogram has no
  // energy.
  double ratio = 0.5;
  // Angular harmonics |n| <= drop are left out of the metric (Vo's "drop").
  int drop = 20;
  // Gaussian smoothing along the detector (sigma, columns), applied as a
  // weight on the Fourier coefficients. Vo smooths 3 rows x 1 column for the
  // coarse search and median-filters 2 x 2 for the fine one; smoothing along
  // angles removes the high angular harmonics the metric measures, and on
  // noisy phantoms 3 columns alone was the most accurate (tests/kernels).
  double smoothing = 3.0;
  // Sub-pixel search stops when the centre is known to this many columns.
  double tolerance = 0.01;
};

// Vo, Drakopoulos, Atwood & Reinhard, "Reliable method for calculating the
// center of rotation in parallel-beam tomography", Optics Express 22(16),
// 19078 (2014); the algorithm of tomopy.find_center_vo. The sinogram
// [angle][column] (after flat/dark and minus-log) and its mirror stacked
// into a 360-degree sinogram have, for the right shift, no energy outside
// the double wedge |n| <= 2 pi r |k| of their 2-D Fourier transform; the
// metric is the sum of |F| outside it. The mirror is shifted by a Fourier
// phase (exact, sub-pixel), so one 2-D FFT serves every candidate: a
// coarse search over every half-column centre, then a golden-section search
// to `tolerance`. Angles must be uniformly spaced and span at least
// 180 degrees (only the first 180 are used). About 30 ms for 512 columns x
// 360 angles on one core (tomopy.find_center_vo: about 1.3 s).
// confidence = contrast * uniqueness of the coarse metric curve: contrast =
// (median - min) / (max - min), near 1 for a narrow dip; uniqueness = how far
// the next-lowest local minimum (>= 2 columns away) sits above the minimum,
// relative to the median; 0 when the minimum is on the search border. It
// rates the dip inside the searched range: a range that misses the true
// centre can still hold a spurious dip that rates well, so widen
// search_radius when the stage may be far off.
CenterEstimate find_center_vo(Kokkos::View<const Real**> sino, Angles theta,
                              const VoParams& params = {});

struct PcParams {
  // Sub-pixel refinement: the correlation is evaluated on a grid of
  // 1/upsample shift steps around its peak (Guizar-Sicairos et al., Optics
  // Letters 33(2), 156, 2008).
  int upsample = 20;
};

// Phase correlation of the projection at 0 degrees with the mirrored one at
// 180 degrees (both [row][column], normalised; after minus-log works best),
// as tomopy.find_center_pc. confidence is the height of the normalised
// phase-correlation peak (1 for identical mirrored images).
CenterEstimate find_center_pc(Kokkos::View<const Real**> proj0, Kokkos::View<const Real**> proj180,
                              const PcParams& params = {});

}  // namespace beamflow::kernels
