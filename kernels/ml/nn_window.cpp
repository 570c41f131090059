// Sliding windows: their geometry (Window, shared with Conv in nn_conv.cpp)
// and the pools, MaxPool, AveragePool and GlobalAveragePool. Every window is
// handled as 3-D (depth, height, width); 1-D and 2-D inputs get leading axes
// of extent 1.
#include <algorithm>
#include <limits>

#include "kernels/common/error.hpp"
#include "kernels/ml/nn_detail.hpp"

namespace beamflow::kernels::nn {

using detail::Window3;

Window3 detail::window3(const Window& w, const Dims& in_spatial, const Dims& out_spatial) {
  Window3 r{};
  const std::size_t lead = 3 - in_spatial.size();
  for (std::size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const std::size_t j = i - lead;
    r.in[i] = real ? in_spatial[j] : 1;
    r.out[i] = real ? out_spatial[j] : 1;
    r.k[i] = real ? w.kernel[j] : 1;
    r.s[i] = real ? w.strides[j] : 1;
    r.d[i] = real ? w.dilations[j] : 1;
    r.pb[i] = real ? w.pads_begin[j] : 0;
    r.pe[i] = real ? w.pads_end[j] : 0;
  }
  return r;
}

void detail::check_spatial(const char* where, const Dims& x, std::size_t min_rank) {
  if (x.size() < min_rank || x.size() > 5)
    throw Error(error_id::Shape, where, "input " + dims_string(x) + " is not [N][C] and 1 to 3 spatial axes");
}

void Window::complete(std::size_t spatial_rank) {
  auto fill = [&](Dims& v, std::int64_t value, const char* name, std::int64_t min) {
    if (v.empty()) v.assign(spatial_rank, value);
    if (v.size() != spatial_rank)
      throw Error(error_id::Argument, "nn::Window",
                  std::string(name) + " " + dims_string(v) + " for " + std::to_string(spatial_rank) + " spatial axes");
    for (std::int64_t x : v)
      if (x < min) throw Error(error_id::Argument, "nn::Window", std::string(name) + " " + dims_string(v) + " out of range");
  };
  if (kernel.size() != spatial_rank)
    throw Error(error_id::Argument, "nn::Window",
                "kernel " + dims_string(kernel) + " for " + std::to_string(spatial_rank) + " spatial axes");
  fill(kernel, 1, "kernel", 1);
  fill(strides, 1, "strides", 1);
  fill(dilations, 1, "dilations", 1);
  fill(pads_begin, 0, "pads", 0);
  fill(pads_end, 0, "pads", 0);
}

Dims Window::output_extents(const Dims& spatial) {
  complete(spatial.size());
  Dims out(spatial.size());
  for (std::size_t i = 0; i < spatial.size(); ++i) {
    const std::int64_t eff = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
      out[i] = (spatial[i] + strides[i] - 1) / strides[i];
      const std::int64_t total = std::max<std::int64_t>(0, (out[i] - 1) * strides[i] + eff - spatial[i]);
      const std::int64_t small = total / 2, large = total - small;
      pads_begin[i] = auto_pad == AutoPad::SameUpper ? small : large;
      pads_end[i] = auto_pad == AutoPad::SameUpper ? large : small;
      continue;
    }
    if (auto_pad == AutoPad::Valid) pads_begin[i] = pads_end[i] = 0;
    const std::int64_t span = spatial[i] + pads_begin[i] + pads_end[i] - eff;
    if (span < 0)
      throw Error(error_id::Shape, "nn::Window",
                  "window " + std::to_string(eff) + " wider than the padded input " +
                      std::to_string(spatial[i] + pads_begin[i] + pads_end[i]));
    out[i] = (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
    // A ceil-mode window must start inside the input or its leading pad.
    if (ceil_mode && (out[i] - 1) * strides[i] >= spatial[i] + pads_begin[i]) --out[i];
  }
  return out;
}

Dims pool_shape(const Dims& x, Window& window) {
  detail::check_spatial("nn::pool", x, 3);
  Dims out = window.output_extents(Dims(x.begin() + 2, x.end()));
  out.insert(out.begin(), {x[0], x[1]});
  return out;
}

void pool(const Tensor& x, const Window& window_in, Pool kind, bool count_include_pad, Tensor& y) {
  Window window = window_in;
  if (pool_shape(x.shape, window) != y.shape)
    throw Error(error_id::Shape, "nn::pool", "output is " + dims_string(y.shape));
  const Window3 w = detail::window3(window, Dims(x.shape.begin() + 2, x.shape.end()), Dims(y.shape.begin() + 2, y.shape.end()));
  const std::int64_t in_plane = w.in[0] * w.in[1] * w.in[2];
  const float* px = x.data.data();
  float* py = y.data.data();
  const bool is_max = kind == Pool::Max;
  // One output row per index: the taps' rows are checked once per row and
  // each tap column sweeps the outputs whose window holds it in range, so
  // the inner loop has no bounds checks. Every axis is checked on its own,
  // so a window's count of valid (and of padded) positions is a product of
  // per-axis counts.
  Kokkos::parallel_for(
      "beamflow::nn::pool", Kokkos::RangePolicy<ExecSpace>(0, x.shape[0] * x.shape[1] * w.out[0] * w.out[1]),
      KOKKOS_LAMBDA(std::int64_t row) {
        const std::int64_t o_h = row % w.out[1], o_d = (row / w.out[1]) % w.out[0], plane = row / (w.out[1] * w.out[0]);
        const float* src = px + plane * in_plane;
        float* dst = py + row * w.out[2];
        const float init = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
        for (std::int64_t o_w = 0; o_w < w.out[2]; ++o_w) dst[o_w] = init;
        std::int64_t valid_dh = 0, padded_dh = 0;
        for (std::int64_t kd = 0; kd < w.k[0]; ++kd) {
          const std::int64_t id = o_d * w.s[0] - w.pb[0] + kd * w.d[0];
          for (std::int64_t kh = 0; kh < w.k[1]; ++kh) {
            const std::int64_t ih = o_h * w.s[1] - w.pb[1] + kh * w.d[1];
            // Positions inside the explicitly padded input count for
            // count_include_pad; a ceil-mode overhang past the end pad does not.
            if (id < w.in[0] + w.pe[0] && ih < w.in[1] + w.pe[1]) ++padded_dh;
            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) continue;
            ++valid_dh;
            const float* line = src + (id * w.in[1] + ih) * w.in[2];
            for (std::int64_t kw = 0; kw < w.k[2]; ++kw) {
              // Outputs o_w with 0 <= o_w * s + off < in: [lo, hi).
              const std::int64_t off = kw * w.d[2] - w.pb[2], s = w.s[2];
              const std::int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
              std::int64_t hi = w.in[2] - off <= 0 ? 0 : (w.in[2] - off + s - 1) / s;
              hi = hi < w.out[2] ? hi : w.out[2];
              const float* in = line + off;
              if (is_max) {
                for (std::int64_t o_w = lo; o_w < hi; ++o_w) {
                  const float v = in[o_w * s];
                  dst[o_w] = v > dst[o_w] ? v : dst[o_w];
                }
              } else {
                for (std::int64_t o_w = lo; o_w < hi; ++o_w) dst[o_w] += in[o_w * s];
              }
            }
          }
        }
        if (is_max) return;
        for (std::int64_t o_w = 0; o_w < w.out[2]; ++o_w) {
          std::int64_t valid_w = 0, padded_w = 0;
          for (std::int64_t kw = 0; kw < w.k[2]; ++kw) {
            const std::int64_t iw = o_w * w.s[2] - w.pb[2] + kw * w.d[2];
            valid_w += iw >= 0 && iw < w.in[2];
            padded_w += iw < w.in[2] + w.pe[2];
          }
          dst[o_w] /= static_cast<float>(count_include_pad ? padded_dh * padded_w : valid_dh * valid_w);
        }
      });
  Kokkos::fence();
}

Dims global_average_pool_shape(const Dims& x) {
  detail::check_spatial("nn::global_average_pool", x, 2);
  Dims out = x;
  for (std::size_t i = 2; i < out.size(); ++i) out[i] = 1;
  return out;
}

void global_average_pool(const Tensor& x, Tensor& y) {
  if (global_average_pool_shape(x.shape) != y.shape)
    throw Error(error_id::Shape, "nn::global_average_pool", "output is " + dims_string(y.shape));
  const std::int64_t plane = product(x.shape, 2);
  const float* px = x.data.data();
  float* py = y.data.data();
  Kokkos::parallel_for("beamflow::nn::global_average_pool", Kokkos::RangePolicy<ExecSpace>(0, x.shape[0] * x.shape[1]),
                       KOKKOS_LAMBDA(std::int64_t c) {
                         float sum = 0;
                         for (std::int64_t i = 0; i < plane; ++i) sum += px[c * plane + i];
                         py[c] = sum / static_cast<float>(plane);
                       });
  Kokkos::fence();
}

}  // namespace beamflow::kernels::nn
