#pragma once
// Image quality against a known truth, inside the field of view: for the
// accuracy tests and the benchmark's PSNR column.
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
// the truth's range (max - min) there. Both images width x width.
double psnr(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask);

// Mean structural similarity (Wang et al. 2004: Gaussian window sigma 1.5,
// K1 0.01, K2 0.03, L the truth's masked range) over the masked pixels.
double ssim(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask,
            std::int64_t width);

// PSNR and SSIM averaged over the slices of the volume file `image` against
// slices [truth_begin, ...) of the volume file `truth`, inside the field of
// view of rotation centre `center`.
struct Score {
  double psnr = 0, ssim = 0;
};
Score score(const std::filesystem::path& image, const std::filesystem::path& truth, std::int64_t truth_begin,
            double center);

}  // namespace beamflow::jobs
