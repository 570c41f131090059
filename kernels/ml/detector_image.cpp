#include "kernels/ml/detector_image.hpp"

#include <cmath>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::kernels {

void log_scale_resize(Kokkos::View<const float***> frames, float scale, nn::Tensor& out) {
  const std::int64_t n = frames.extent(0), h = frames.extent(1), w = frames.extent(2);
  if (out.rank() != 4 || out.shape[0] != n || out.shape[1] != 1 || out.shape[2] < 1 || out.shape[3] < 1 || h < 1 ||
      w < 1)
    throw Error(error_id::Shape, "log_scale_resize",
                "frames [" + std::to_string(n) + ", " + std::to_string(h) + ", " + std::to_string(w) + "] into " +
                    nn::dims_string(out.shape) + " (needs [n, 1, H, W])");
  if (!(scale > 0.0f) || !std::isfinite(scale))
    throw Error(error_id::Argument, "log_scale_resize", "scale must be a positive finite number");
  const std::int64_t oh = out.shape[2], ow = out.shape[3];
  // torch's area_pixel_compute_scale and source index, in float as it does.
  const float sy = static_cast<float>(h) / static_cast<float>(oh);
  const float sx = static_cast<float>(w) / static_cast<float>(ow);
  float* dst = out.data.data();
  Kokkos::parallel_for(
      "beamflow::detector::log_scale_resize", Kokkos::RangePolicy<ExecSpace>(0, n * oh), KOKKOS_LAMBDA(std::int64_t r) {
        const std::int64_t img = r / oh, y = r % oh;
        auto value = [&](std::int64_t yy, std::int64_t xx) {
          const float c = frames(img, yy, xx);
          return math::isfinite(c) && c > 0.0f ? math::log1p(c) * scale : 0.0f;
        };
        float fy = sy * (static_cast<float>(y) + 0.5f) - 0.5f;
        fy = fy < 0.0f ? 0.0f : fy;
        const std::int64_t y0 = static_cast<std::int64_t>(fy);
        const std::int64_t y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        const float ly = fy - static_cast<float>(y0);
        for (std::int64_t x = 0; x < ow; ++x) {
          float fx = sx * (static_cast<float>(x) + 0.5f) - 0.5f;
          fx = fx < 0.0f ? 0.0f : fx;
          const std::int64_t x0 = static_cast<std::int64_t>(fx);
          const std::int64_t x1 = x0 + 1 < w ? x0 + 1 : w - 1;
          const float lx = fx - static_cast<float>(x0);
          dst[(img * oh + y) * ow + x] = (1.0f - ly) * ((1.0f - lx) * value(y0, x0) + lx * value(y0, x1)) +
                                         ly * ((1.0f - lx) * value(y1, x0) + lx * value(y1, x1));
        }
      });
  Kokkos::fence();
}

}  // namespace beamflow::kernels
