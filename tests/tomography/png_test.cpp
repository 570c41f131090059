#include "io/png.hpp"

#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "jobs/tomography/preview.hpp"
#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

// Decodes an 8-bit greyscale PNG with libpng's simplified API.
io::Gray8Image read_png(const std::filesystem::path& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return {};
  image.format = PNG_FORMAT_GRAY;
  io::Gray8Image out{int(image.width), int(image.height), std::vector<std::uint8_t>(PNG_IMAGE_SIZE(image))};
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) return {};
  return out;
}

TEST(Png, WindowIgnoresTheCornersOutsideTheFieldOfView) {
  // 8x8: inside the disc values 0..; the corners hold a huge value.
  std::vector<float> v(64);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      const double r2 = (x - 3.5) * (x - 3.5) + (y - 3.5) * (y - 3.5);
      v[std::size_t(y * 8 + x)] = r2 > 16 ? 1e6f : float(x);
    }
  const io::Window w = io::percentile_window(v, 8, 8, 0, 100);
  EXPECT_EQ(w.low, 0);
  EXPECT_EQ(w.high, 7);
  EXPECT_EQ(io::percentile_window(v, 8, 8, 0, 100, false).high, 1e6);
}

TEST(Png, PercentilesClipOutliers) {
  std::vector<float> v(100 * 100, 1.f);
  v[5050] = 1000.f;  // one hot pixel in the middle
  for (std::size_t i = 0; i < v.size(); i += 2) v[i] = 0.f;
  const io::Window w = io::percentile_window(v, 100, 100, 1, 99);
  EXPECT_EQ(w.high, 1.0);
}

TEST(Png, WritesAGreyscaleImageThatDecodesBack) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".png");
  std::vector<float> v{0.f, 0.5f, 1.f, 2.f, -1.f, NAN};
  const io::Gray8Image g = io::to_gray8(v, 3, 2, {0, 1});
  EXPECT_EQ(g.pixels, (std::vector<std::uint8_t>{0, 128, 255, 255, 0, 0}));
  io::write_png(file, g);
  const io::Gray8Image back = read_png(file);
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.height, 2);
  EXPECT_EQ(back.pixels, g.pixels);
}

TEST(Png, UnwritablePathIsAnError) {
  testing::expect_error(
      [] {
        io::write_png("/nonexistent-dir/x.png", io::Gray8Image{1, 1, {0}});
      },
      "tomo.preview.write", {"file=/nonexistent-dir/x.png"});
}

TEST(Png, PreviewWindowMustBeOrdered) {
  PreviewOptions o;
  o.volume = "v.h5";
  o.output = "p.png";
  o.low_percentile = 99;
  o.high_percentile = 1;
  testing::expect_error([&] { write_previews(o); }, "tomo.usage.percentile", {"0 <= low < high <= 100"});
  EXPECT_EQ(preview_path("out/p.png", 7, 1), "out/p.png");
  EXPECT_EQ(preview_path("out/p.png", 7, 2), "out/p_s0007.png");
}

}  // namespace
}  // namespace beamflow::jobs
