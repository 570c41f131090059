#include "io/png.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <memory>

#include "core/error.hpp"

namespace beamflow::io {

namespace {
// libpng reports errors by longjmp; this function holds no object with a
// destructor, so jumping out of it is safe. Returns false on failure.
bool encode(std::FILE* out, int width, int height, const std::uint8_t* pixels, std::vector<png_text>& text) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    return false;
  }
  png_init_io(png, out);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!text.empty()) png_set_text(png, info, text.data(), static_cast<int>(text.size()));
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, pixels + static_cast<std::size_t>(y) * static_cast<std::size_t>(width));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}
}  // namespace

void write_png(const std::filesystem::path& path, const Gray8Image& image) {
  auto failure = [&](const std::string& why) {
    // Id and ASL name stable since previews were tomography-only (docs/errors.md).
    return Error("tomo.preview.write", "Tomo.OutputError", "cannot write the PNG preview: " + why,
                 {{"file", path.string()}});
  };
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height))
    throw failure("the image is empty or inconsistent");
  std::unique_ptr<std::FILE, decltype(&std::fclose)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) throw failure("cannot create the file");
  std::vector<png_text> text(image.text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i].compression = PNG_TEXT_COMPRESSION_NONE;
    text[i].key = const_cast<char*>(image.text[i].first.c_str());
    text[i].text = const_cast<char*>(image.text[i].second.c_str());
    text[i].text_length = image.text[i].second.size();
  }
  if (!encode(out.get(), image.width, image.height, image.pixels.data(), text)) throw failure("libpng failed");
  if (std::fclose(out.release()) != 0) throw failure("cannot close the file");
}

Window percentile_window(std::span<const float> values, int width, int height, double low_percentile,
                         double high_percentile, bool disc_only) {
  std::vector<float> inside;
  inside.reserve(values.size());
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  const double r2 = std::pow(std::min(width, height) / 2.0, 2);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const float v =
          values[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)];
      if (!std::isfinite(v)) continue;
      if (disc_only && (x - cx) * (x - cx) + (y - cy) * (y - cy) > r2) continue;
      inside.push_back(v);
    }
  if (inside.empty()) return {};
  auto at = [&](double percentile) {
    const double clamped = std::clamp(percentile, 0.0, 100.0) / 100.0;
    const auto k = static_cast<std::size_t>(std::lround(clamped * double(inside.size() - 1)));
    std::nth_element(inside.begin(), inside.begin() + static_cast<std::ptrdiff_t>(k), inside.end());
    return double(inside[k]);
  };
  return {at(low_percentile), at(high_percentile)};
}

Gray8Image to_gray8(std::span<const float> values, int width, int height, Window window) {
  Gray8Image out{width, height, std::vector<std::uint8_t>(values.size())};
  const double span = window.high > window.low ? window.high - window.low : 1.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    out.pixels[i] =
        std::isfinite(v)
            ? static_cast<std::uint8_t>(std::lround(std::clamp((v - window.low) / span, 0.0, 1.0) * 255.0))
            : 0;
  }
  return out;
}

}  // namespace beamflow::io
