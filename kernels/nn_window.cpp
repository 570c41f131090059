// Sliding-window operators: Conv (im2col + the blocked GEMM), MaxPool,
// AveragePool and GlobalAveragePool. Every window is handled as 3-D
// (depth, height, width); 1-D and 2-D inputs get leading axes of extent 1.
#include <algorithm>
#include <limits>

#include "kernels/error.hpp"
#include "kernels/nn.hpp"

namespace beamflow::kernels::nn {

namespace {

// A window normalised to three spatial axes, as kernels capture it.
struct Window3 {
  std::int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};

Window3 window3(const Window& w, const Dims& in_spatial, const Dims& out_spatial) {
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

void check_spatial(const char* where, const Dims& x, std::size_t min_rank) {
  if (x.size() < min_rank || x.size() > 5)
    throw Error(error_id::Shape, where, "input " + dims_string(x) + " is not [N][C] and 1 to 3 spatial axes");
}

}  // namespace

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

Dims conv_shape(const Dims& x, const Dims& w, Window& window, std::int64_t groups) {
  check_spatial("nn::conv", x, 3);
  if (w.size() != x.size())
    throw Error(error_id::Shape, "nn::conv", "weights " + dims_string(w) + " for input " + dims_string(x));
  if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0 || w[1] * groups != x[1])
    throw Error(error_id::Shape, "nn::conv",
                "weights " + dims_string(w) + " and " + std::to_string(groups) + " groups for input " +
                    dims_string(x));
  const Dims kernel(w.begin() + 2, w.end());
  if (window.kernel.empty()) window.kernel = kernel;
  if (window.kernel != kernel)
    throw Error(error_id::Shape, "nn::conv", "kernel_shape " + dims_string(window.kernel) + " for weights " + dims_string(w));
  Dims out = window.output_extents(Dims(x.begin() + 2, x.end()));
  out.insert(out.begin(), {x[0], w[0]});
  return out;
}

void conv(const Tensor& x, const Tensor& w, const Tensor* bias, const Window& window_in, std::int64_t groups,
          Tensor& y) {
  Window window = window_in;
  if (conv_shape(x.shape, w.shape, window, groups) != y.shape)
    throw Error(error_id::Shape, "nn::conv", "output is " + dims_string(y.shape));
  if (bias && bias->size() != w.shape[0])
    throw Error(error_id::Shape, "nn::conv", "bias " + dims_string(bias->shape) + " for " + std::to_string(w.shape[0]) + " filters");
  const Window3 g3 = window3(window, Dims(x.shape.begin() + 2, x.shape.end()), Dims(y.shape.begin() + 2, y.shape.end()));
  const std::int64_t n_img = x.shape[0], c_in = x.shape[1], m = w.shape[0];
  const std::int64_t cg = c_in / groups, mg = m / groups;
  const std::int64_t in_plane = g3.in[0] * g3.in[1] * g3.in[2];
  const std::int64_t p = g3.out[0] * g3.out[1] * g3.out[2];
  const std::int64_t kvol = g3.k[0] * g3.k[1] * g3.k[2];
  const std::int64_t kdim = cg * kvol;
  const bool pointwise = kvol == 1 && g3.s[0] * g3.s[1] * g3.s[2] == 1 &&
                         g3.pb[0] + g3.pb[1] + g3.pb[2] + g3.pe[0] + g3.pe[1] + g3.pe[2] == 0;

  Kokkos::View<float*> col;
  if (!pointwise)
    col = Kokkos::View<float*>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::conv::col"),
                               std::max<std::int64_t>(1, kdim * p));
  float* pcol = col.data();
  const float* px = x.data.data();
  float* py = y.data.data();

  // The bias is the GEMM's starting C (beta = 1), so it is added for free.
  if (bias) {
    const float* pbias = bias->data.data();
    Kokkos::parallel_for("beamflow::nn::conv::bias", Kokkos::RangePolicy<ExecSpace>(0, n_img * m),
                         KOKKOS_LAMBDA(std::int64_t plane) {
                           const float v = pbias[plane % m];
                           for (std::int64_t i = 0; i < p; ++i) py[plane * p + i] = v;
                         });
  }

  for (std::int64_t n = 0; n < n_img; ++n)
    for (std::int64_t g = 0; g < groups; ++g) {
      const float* xg = px + (n * c_in + g * cg) * in_plane;
      const float* b = xg;
      if (!pointwise) {
        // col[(c, kd, kh, kw)][(od, oh, ow)]: one row per kernel tap, one
        // output row (od, oh) per parallel index, so the ow loop is a
        // strided copy.
        Kokkos::parallel_for(
            "beamflow::nn::conv::im2col", Kokkos::RangePolicy<ExecSpace>(0, kdim * g3.out[0] * g3.out[1]),
            KOKKOS_LAMBDA(std::int64_t idx) {
              const std::int64_t oh = idx % g3.out[1];
              const std::int64_t od = (idx / g3.out[1]) % g3.out[0];
              const std::int64_t row = idx / (g3.out[1] * g3.out[0]);
              const std::int64_t kw = row % g3.k[2], kh = (row / g3.k[2]) % g3.k[1];
              const std::int64_t kd = (row / (g3.k[2] * g3.k[1])) % g3.k[0], c = row / kvol;
              float* dst = pcol + row * p + (od * g3.out[1] + oh) * g3.out[2];
              const std::int64_t id = od * g3.s[0] - g3.pb[0] + kd * g3.d[0];
              const std::int64_t ih = oh * g3.s[1] - g3.pb[1] + kh * g3.d[1];
              if (id < 0 || id >= g3.in[0] || ih < 0 || ih >= g3.in[1]) {
                for (std::int64_t ow = 0; ow < g3.out[2]; ++ow) dst[ow] = 0.0f;
                return;
              }
              const float* src = xg + ((c * g3.in[0] + id) * g3.in[1] + ih) * g3.in[2];
              const std::int64_t w0 = kw * g3.d[2] - g3.pb[2], sw = g3.s[2], in_w = g3.in[2];
              for (std::int64_t ow = 0; ow < g3.out[2]; ++ow) {
                const std::int64_t iw = ow * sw + w0;
                dst[ow] = iw >= 0 && iw < in_w ? src[iw] : 0.0f;
              }
            });
        Kokkos::fence();
        b = pcol;
      }
      gemm(Gemm{mg, p, kdim, false, false, 1.0f, bias ? 1.0f : 0.0f}, w.data.data() + g * mg * kdim, kdim, b, p,
           py + (n * m + g * mg) * p, p);
    }
}

Dims pool_shape(const Dims& x, Window& window) {
  check_spatial("nn::pool", x, 3);
  Dims out = window.output_extents(Dims(x.begin() + 2, x.end()));
  out.insert(out.begin(), {x[0], x[1]});
  return out;
}

void pool(const Tensor& x, const Window& window_in, Pool kind, bool count_include_pad, Tensor& y) {
  Window window = window_in;
  if (pool_shape(x.shape, window) != y.shape)
    throw Error(error_id::Shape, "nn::pool", "output is " + dims_string(y.shape));
  const Window3 w = window3(window, Dims(x.shape.begin() + 2, x.shape.end()), Dims(y.shape.begin() + 2, y.shape.end()));
  const std::int64_t in_plane = w.in[0] * w.in[1] * w.in[2], out_plane = w.out[0] * w.out[1] * w.out[2];
  const float* px = x.data.data();
  float* py = y.data.data();
  const bool is_max = kind == Pool::Max;
  Kokkos::parallel_for(
      "beamflow::nn::pool", Kokkos::RangePolicy<ExecSpace>(0, x.shape[0] * x.shape[1] * out_plane),
      KOKKOS_LAMBDA(std::int64_t idx) {
        const std::int64_t plane = idx / out_plane, o = idx % out_plane;
        const std::int64_t o_w = o % w.out[2], o_h = (o / w.out[2]) % w.out[1], o_d = o / (w.out[2] * w.out[1]);
        const std::int64_t start[3] = {o_d * w.s[0] - w.pb[0], o_h * w.s[1] - w.pb[1], o_w * w.s[2] - w.pb[2]};
        const float* src = px + plane * in_plane;
        float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
        std::int64_t valid = 0, padded = 0;
        for (std::int64_t kd = 0; kd < w.k[0]; ++kd) {
          const std::int64_t id = start[0] + kd * w.d[0];
          const bool in_d = id >= 0 && id < w.in[0], pad_d = id < w.in[0] + w.pe[0];
          for (std::int64_t kh = 0; kh < w.k[1]; ++kh) {
            const std::int64_t ih = start[1] + kh * w.d[1];
            const bool in_h = ih >= 0 && ih < w.in[1], pad_h = ih < w.in[1] + w.pe[1];
            for (std::int64_t kw = 0; kw < w.k[2]; ++kw) {
              const std::int64_t iw = start[2] + kw * w.d[2];
              const bool in_w = iw >= 0 && iw < w.in[2], pad_w = iw < w.in[2] + w.pe[2];
              // Window positions inside the explicitly padded input; a ceil
              // mode overhang past the end pad counts for no divisor.
              if (pad_d && pad_h && pad_w) ++padded;
              if (!(in_d && in_h && in_w)) continue;
              const float v = src[(id * w.in[1] + ih) * w.in[2] + iw];
              ++valid;
              if (is_max)
                acc = v > acc ? v : acc;
              else
                acc += v;
            }
          }
        }
        if (!is_max) acc /= static_cast<float>(count_include_pad ? padded : valid);
        py[idx] = acc;
      });
  Kokkos::fence();
}

Dims global_average_pool_shape(const Dims& x) {
  check_spatial("nn::global_average_pool", x, 2);
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
