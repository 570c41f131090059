#pragma once
// Image quality against a known truth, inside the field of view: for the
// accuracy tests and the benchmark's quality columns (one definition for
// both, docs/tomography.md "Quality figures").
//
// The peak of PSNR and the L of SSIM are the truth's range (max - min) over
// the field of view of that slice. A slice whose truth is constant there (a
// phantom's empty end slices) has no range: its PSNR is undefined (NaN) and
// it is left out of a volume's score, never scored against an invented peak.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace beamflow::jobs {

// Pixels of a width x width slice inside the disc of `radius` pixels about
// the slice centre ((width-1)/2, (width-1)/2): the reconstruction's field
// of view is min(c, width-1-c) for a rotation centre c.
std::vector<std::uint8_t> disc_mask(std::int64_t width, double radius);

// Peak signal-to-noise ratio in dB over the masked pixels, the peak being
// the truth's range (max - min) there; NaN when the truth is constant there,
// +inf when the images are equal. Both images width x width.
double psnr(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask);

// Mean structural similarity (Wang et al. 2004: Gaussian window sigma 1.5,
// K1 0.01, K2 0.03, L the truth's masked range) over the masked pixels; NaN
// when the truth is constant there.
double ssim(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask,
            std::int64_t width);

// PSNR with `image` first scaled by the least-squares factor a minimising
// |a*image - truth|^2 over the mask: how good the image would be if its
// scale were right. Flatters a reconstruction with a calibration error, so it
// is printed beside psnr(), never instead.
double psnr_scale_fitted(std::span<const float> image, std::span<const float> truth,
                         std::span<const std::uint8_t> mask);

// Averages over the slices whose truth is not constant in the field of view.
struct Score {
  double psnr = 0, ssim = 0;
  double psnr_fitted = 0;      // psnr_scale_fitted, averaged likewise
  std::int64_t scored = 0;     // slices averaged
  std::int64_t constant = 0;   // slices left out: constant truth
};

// `slices` slices of width x width in `image` and `truth`, inside the field of
// view of rotation centre `center`. All averages are NaN when no slice has a
// non-constant truth.
Score score_slices(std::span<const float> image, std::span<const float> truth, std::int64_t slices,
                   std::int64_t width, double center);

// score_slices of the volume file `image` against slices [truth_begin, ...)
// of the volume file `truth`.
Score score(const std::filesystem::path& image, const std::filesystem::path& truth, std::int64_t truth_begin,
            double center);

}  // namespace beamflow::jobs
