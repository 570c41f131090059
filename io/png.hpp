#pragma once
// 8-bit greyscale PNG previews of reconstructed slices, for people to look
// at: the display window is chosen from percentiles of the values inside
// the field of view, so a few hot pixels or the empty corners outside the
// reconstruction circle do not wash the image out.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace beamflow::io {

struct Gray8Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // row-major, height x width
  // tEXt chunks (keyword, Latin-1 text), e.g. what a preview was drawn from.
  std::vector<std::pair<std::string, std::string>> text = {};
};

// Writes `image` with libpng; throws tomo.preview.write (file=).
void write_png(const std::filesystem::path& path, const Gray8Image& image);

// The display window [low, high]: the `low_percentile` and
// `high_percentile` (0..100) of the finite values inside the disc inscribed
// in the image (all values when `disc_only` is false).
struct Window {
  double low = 0;
  double high = 0;
};
Window percentile_window(std::span<const float> values, int width, int height, double low_percentile,
                         double high_percentile, bool disc_only = true);

// Maps `window` linearly onto 0..255, clamping outside it; non-finite
// values become 0.
Gray8Image to_gray8(std::span<const float> values, int width, int height, Window window);

}  // namespace beamflow::io
