#include "jobs/tomography/quality.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs {

std::vector<std::uint8_t> disc_mask(std::int64_t width, double radius) {
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(width * width));
  const double c = double(width - 1) / 2;
  for (std::int64_t y = 0; y < width; ++y)
    for (std::int64_t x = 0; x < width; ++x)
      mask[std::size_t(y * width + x)] = (x - c) * (x - c) + (y - c) * (y - c) <= radius * radius;
  return mask;
}

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The truth's range over the mask; 0 when it is constant there (or the mask
// is empty).
double masked_range(std::span<const float> truth, std::span<const std::uint8_t> mask) {
  float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (mask[i]) {
      lo = std::min(lo, truth[i]);
      hi = std::max(hi, truth[i]);
    }
  return hi > lo ? double(hi) - double(lo) : 0.0;
}

double psnr_with_scale(std::span<const float> image, std::span<const float> truth,
                       std::span<const std::uint8_t> mask, double scale) {
  const double range = masked_range(truth, mask);
  if (range == 0) return kNaN;
  double se = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (mask[i]) {
      const double d = scale * double(image[i]) - double(truth[i]);
      se += d * d;
      ++n;
    }
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(range * range / (se / double(n)));
}

// Separable Gaussian blur (sigma 1.5, radius 5) with edge replication.
std::vector<double> blur(const std::vector<double>& in, std::int64_t w) {
  constexpr int r = 5;
  double k[2 * r + 1], sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-i * i / (2 * 1.5 * 1.5));
  for (double& v : k) v /= sum;
  auto at = [w](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, w - 1); };
  std::vector<double> tmp(in.size()), out(in.size());
  for (std::int64_t y = 0; y < w; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * in[std::size_t(y * w + at(x + i))];
      tmp[std::size_t(y * w + x)] = s;
    }
  for (std::int64_t y = 0; y < w; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * tmp[std::size_t(at(y + i) * w + x)];
      out[std::size_t(y * w + x)] = s;
    }
  return out;
}
}  // namespace

Score score_slices(std::span<const float> image, std::span<const float> truth, std::int64_t slices,
                   std::int64_t width, double center) {
  const std::int64_t n = width * width;
  const auto mask = disc_mask(width, std::min(center, double(width - 1) - center) - 1);
  Score s;
  for (std::int64_t i = 0; i < slices; ++i) {
    const std::span<const float> x(image.data() + i * n, std::size_t(n)), y(truth.data() + i * n, std::size_t(n));
    if (masked_range(y, mask) == 0) {
      ++s.constant;
      continue;
    }
    s.psnr += psnr(x, y, mask);
    s.ssim += ssim(x, y, mask, width);
    s.psnr_fitted += psnr_scale_fitted(x, y, mask);
    ++s.scored;
  }
  if (s.scored == 0) return {kNaN, kNaN, kNaN, 0, s.constant};
  s.psnr /= double(s.scored);
  s.ssim /= double(s.scored);
  s.psnr_fitted /= double(s.scored);
  return s;
}

Score score(const std::filesystem::path& image, const std::filesystem::path& truth, std::int64_t truth_begin,
            double center) {
  const VolumeSlab a = read_volume(image);
  const VolumeSlab t = read_volume(truth, parallel::RowRange{truth_begin, truth_begin + a.slices});
  return score_slices(a.values, t.values, a.slices, a.width, center);
}

double psnr(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask) {
  return psnr_with_scale(image, truth, mask, 1.0);
}

double psnr_scale_fitted(std::span<const float> image, std::span<const float> truth,
                         std::span<const std::uint8_t> mask) {
  double xy = 0, xx = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (mask[i]) {
      xy += double(image[i]) * double(truth[i]);
      xx += double(image[i]) * double(image[i]);
    }
  return psnr_with_scale(image, truth, mask, xx > 0 ? xy / xx : 1.0);
}

double ssim(std::span<const float> image, std::span<const float> truth, std::span<const std::uint8_t> mask,
            std::int64_t width) {
  const double L = masked_range(truth, mask);
  if (L == 0) return kNaN;
  const double c1 = (0.01 * L) * (0.01 * L), c2 = (0.03 * L) * (0.03 * L);
  const std::size_t n = truth.size();
  std::vector<double> a(n), b(n), aa(n), bb(n), ab(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = image[i];
    b[i] = truth[i];
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const auto ma = blur(a, width), mb = blur(b, width), maa = blur(aa, width), mbb = blur(bb, width),
             mab = blur(ab, width);
  double total = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!mask[i]) continue;
    const double va = maa[i] - ma[i] * ma[i], vb = mbb[i] - mb[i] * mb[i], cov = mab[i] - ma[i] * mb[i];
    total +=
        ((2 * ma[i] * mb[i] + c1) * (2 * cov + c2)) / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2));
    ++count;
  }
  return count ? total / double(count) : 0;
}

}  // namespace beamflow::jobs
