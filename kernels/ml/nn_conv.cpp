// Convolution as an implicit GEMM on the register tiles of nn_detail.hpp.
//
// Per image and group the product is Y[M][P] = W[M][K] X[K][P] with K the
// receptive field (C/groups x kernel volume) and P the output positions.
// W is packed once per model (pack_conv_weights). X is never materialised:
// each team packs the K x 16 panel of the 16 output positions it owns
// (kept in L1/L2), multiplies every block of 8 filters with it, and stores
// bias + residual + activation straight from the registers, so a
// Conv(+Add)(+Relu) chain costs one pass over the output.
#include <algorithm>

#include "kernels/common/error.hpp"
#include "kernels/ml/nn_detail.hpp"

namespace beamflow::kernels::nn {

using detail::kMr;
using detail::kNr;
using detail::Window3;

namespace {

// The geometry a team needs, captured by value.
struct ConvGeometry {
  Window3 w;
  std::int64_t c_in, cg, m, mg, groups, kdim, in_plane, p, blocks, panels;
  bool pointwise;  // 1x1 (x1x1), stride 1, unpadded: the panel is a plain copy
};

// panel[k][j] = the input under kernel tap k for output position p0 + j
// (zero in the padding and past the last position); x points at the
// image's first channel of the group.
KOKKOS_INLINE_FUNCTION void pack_panel(const ConvGeometry& g, const float* x, std::int64_t p0, float* panel) {
  const Window3& w = g.w;
  const std::int64_t nr = g.p - p0 < kNr ? g.p - p0 : kNr;
  if (g.pointwise) {
    for (std::int64_t c = 0; c < g.cg; ++c) {
      const float* src = x + c * g.in_plane + p0;
      float* dst = panel + c * kNr;
      if (nr == kNr) {
        for (std::int64_t j = 0; j < kNr; ++j) dst[j] = src[j];
      } else {
        for (std::int64_t j = 0; j < kNr; ++j) dst[j] = j < nr ? src[j] : 0.0f;
      }
    }
    return;
  }
  const std::int64_t ow0 = p0 % w.out[2], out_rows = p0 / w.out[2];
  const std::int64_t oh0 = out_rows % w.out[1], od0 = out_rows / w.out[1];
  float* dst = panel;
  if (nr == kNr && ow0 + kNr <= w.out[2]) {
    // The common case: all 16 positions in one output row, so each tap
    // reads one (strided) input row segment.
    const std::int64_t sw = w.s[2];
    for (std::int64_t c = 0; c < g.cg; ++c)
      for (std::int64_t kd = 0; kd < w.k[0]; ++kd) {
        const std::int64_t id = od0 * w.s[0] - w.pb[0] + kd * w.d[0];
        for (std::int64_t kh = 0; kh < w.k[1]; ++kh) {
          const std::int64_t ih = oh0 * w.s[1] - w.pb[1] + kh * w.d[1];
          const bool row_in = id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1];
          const float* row = x + ((c * w.in[0] + (row_in ? id : 0)) * w.in[1] + (row_in ? ih : 0)) * w.in[2];
          for (std::int64_t kw = 0; kw < w.k[2]; ++kw, dst += kNr) {
            const std::int64_t iw0 = ow0 * sw - w.pb[2] + kw * w.d[2];
            if (row_in && sw == 2 && w.d[2] == 1 && kw + 1 < w.k[2] && iw0 >= 0 && iw0 + 2 * kNr <= w.in[2]) {
              // Stride 2: taps kw and kw + 1 read the even and odd inputs
              // of one segment; split together, the copy vectorises
              // (one tap alone compiles to scalar inserts).
              const float* src = row + iw0;
              float* odd = dst + kNr;
              for (std::int64_t j = 0; j < kNr; ++j) {
                dst[j] = src[2 * j];
                odd[j] = src[2 * j + 1];
              }
              ++kw;
              dst += kNr;
            } else if (!row_in) {
              for (std::int64_t j = 0; j < kNr; ++j) dst[j] = 0.0f;
            } else if (iw0 >= 0 && iw0 + (kNr - 1) * sw < w.in[2]) {
              const float* src = row + iw0;
              // Constant strides let the compiler vectorise the copy.
              if (sw == 1) {
                for (std::int64_t j = 0; j < kNr; ++j) dst[j] = src[j];
              } else if (sw == 2) {
                for (std::int64_t j = 0; j < kNr; ++j) dst[j] = src[2 * j];
              } else {
                for (std::int64_t j = 0; j < kNr; ++j) dst[j] = src[j * sw];
              }
            } else {
              // A tap over the left or right padding: positions [lo, hi)
              // read the input, the others are zero (no per-element test).
              std::int64_t lo = iw0 >= 0 ? 0 : (sw - 1 - iw0) / sw;
              std::int64_t hi = iw0 >= w.in[2] ? 0 : (w.in[2] - iw0 + sw - 1) / sw;
              hi = hi < kNr ? hi : kNr;
              lo = lo < hi ? lo : hi;
              for (std::int64_t j = 0; j < lo; ++j) dst[j] = 0.0f;
              for (std::int64_t j = lo; j < hi; ++j) dst[j] = row[iw0 + j * sw];
              for (std::int64_t j = hi; j < kNr; ++j) dst[j] = 0.0f;
            }
          }
        }
      }
    return;
  }
  // Positions spanning output rows (narrow outputs, the last panel): each
  // position's window origin, then a bounds check per tap.
  constexpr std::int64_t kNowhere = -(std::int64_t(1) << 40);
  std::int64_t base_d[kNr], base_h[kNr], base_w[kNr];
  std::int64_t ow = ow0, oh = oh0, od = od0;
  for (std::int64_t j = 0; j < kNr; ++j) {
    base_d[j] = j < nr ? od * w.s[0] - w.pb[0] : kNowhere;
    base_h[j] = oh * w.s[1] - w.pb[1];
    base_w[j] = ow * w.s[2] - w.pb[2];
    if (++ow == w.out[2]) {
      ow = 0;
      if (++oh == w.out[1]) {
        oh = 0;
        ++od;
      }
    }
  }
  for (std::int64_t c = 0; c < g.cg; ++c)
    for (std::int64_t kd = 0; kd < w.k[0]; ++kd)
      for (std::int64_t kh = 0; kh < w.k[1]; ++kh)
        for (std::int64_t kw = 0; kw < w.k[2]; ++kw, dst += kNr) {
          for (std::int64_t j = 0; j < kNr; ++j) {
            const std::int64_t id = base_d[j] + kd * w.d[0], ih = base_h[j] + kh * w.d[1], iw = base_w[j] + kw * w.d[2];
            const bool in = id >= 0 && id < w.in[0] && ih >= 0 && ih < w.in[1] && iw >= 0 && iw < w.in[2];
            dst[j] = in ? x[((c * w.in[0] + id) * w.in[1] + ih) * w.in[2] + iw] : 0.0f;
          }
        }
}

// A tile's store: out[i][j] = act(acc[i][j] + bias[i] + res[i][j]) for the
// rows < mr and columns < nr. The activation is a template argument so each
// variant is a branch-free loop the compiler vectorises (a runtime switch
// per element left the store scalar, as slow as the product for small K).
template <Unary Act>
KOKKOS_INLINE_FUNCTION float activate(float v, float alpha) {
  if constexpr (Act == Unary::Relu) return v > 0.0f ? v : 0.0f;
  if constexpr (Act == Unary::LeakyRelu) return v >= 0.0f ? v : alpha * v;
  return v;
}

template <Unary Act>
KOKKOS_INLINE_FUNCTION void store_tile(const float (&acc)[kMr][kNr], std::int64_t mr, std::int64_t nr, const float* bias,
                                       const float* res, float* out, std::int64_t ld, float alpha) {
  BEAMFLOW_UNROLL
  for (std::int64_t i = 0; i < kMr; ++i) {
    if (i >= mr) break;
    const float b = bias[i];
    float* o = out + i * ld;
    const float* r = res ? res + i * ld : nullptr;
    if (nr == kNr && r) {
      for (std::int64_t j = 0; j < kNr; ++j) o[j] = activate<Act>(acc[i][j] + b + r[j], alpha);
    } else if (nr == kNr) {
      for (std::int64_t j = 0; j < kNr; ++j) o[j] = activate<Act>(acc[i][j] + b, alpha);
    } else {
      for (std::int64_t j = 0; j < nr; ++j) o[j] = activate<Act>(acc[i][j] + b + (r ? r[j] : 0.0f), alpha);
    }
  }
}

}  // namespace

Dims conv_shape(const Dims& x, const Dims& w, Window& window, std::int64_t groups) {
  detail::check_spatial("nn::conv", x, 3);
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

ConvWeights pack_conv_weights(const Tensor& w, const Tensor* bias, std::int64_t groups) {
  if (groups < 1) throw Error(error_id::Argument, "nn::pack_conv_weights", "groups " + std::to_string(groups));
  if (w.rank() < 3 || w.rank() > 5 || w.shape[0] % groups != 0)
    throw Error(error_id::Shape, "nn::pack_conv_weights",
                "weights " + dims_string(w.shape) + " are not [M][C/groups][kernel...] for " + std::to_string(groups) +
                    " groups");
  const std::int64_t m = w.shape[0];
  if (bias && bias->size() != m)
    throw Error(error_id::Shape, "nn::conv", "bias " + dims_string(bias->shape) + " for " + std::to_string(m) + " filters");
  const std::int64_t mg = m / groups, kdim = product(w.shape, 1), blocks = detail::row_blocks(mg);
  ConvWeights r;
  r.shape = w.shape;
  r.groups = groups;
  r.packed = Kokkos::View<float*>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::conv::weights"),
                                  std::max<std::int64_t>(1, groups * blocks * kdim * kMr));
  r.bias = Kokkos::View<float*>("beamflow::nn::conv::bias", m);
  if (bias) Kokkos::deep_copy(r.bias, Kokkos::subview(bias->data, std::pair<std::int64_t, std::int64_t>(0, m)));
  const float* pw = w.data.data();
  float* pp = r.packed.data();
  Kokkos::parallel_for(
      "beamflow::nn::conv::pack_weights", Kokkos::RangePolicy<ExecSpace>(0, groups * blocks),
      KOKKOS_LAMBDA(std::int64_t gb) {
        const std::int64_t grp = gb / blocks, row0 = (gb % blocks) * kMr;
        float* dst = pp + gb * kdim * kMr;
        for (std::int64_t k = 0; k < kdim; ++k)
          for (std::int64_t i = 0; i < kMr; ++i)
            dst[k * kMr + i] = row0 + i < mg ? pw[(grp * mg + row0 + i) * kdim + k] : 0.0f;
      });
  Kokkos::fence();
  return r;
}

void conv(const Tensor& x, const ConvWeights& cw, const Window& window_in, const ConvEpilogue& epilogue, Tensor& y) {
  Window window = window_in;
  if (conv_shape(x.shape, cw.shape, window, cw.groups) != y.shape)
    throw Error(error_id::Shape, "nn::conv", "output is " + dims_string(y.shape));
  if (epilogue.residual && epilogue.residual->shape != y.shape)
    throw Error(error_id::Shape, "nn::conv",
                "residual " + dims_string(epilogue.residual->shape) + " for output " + dims_string(y.shape));
  const Unary act = epilogue.activation;
  if (act != Unary::Identity && act != Unary::Relu && act != Unary::LeakyRelu)
    throw Error(error_id::Argument, "nn::conv", "a convolution's epilogue applies Identity, Relu or LeakyRelu only");

  ConvGeometry g{};
  g.w = detail::window3(window, Dims(x.shape.begin() + 2, x.shape.end()), Dims(y.shape.begin() + 2, y.shape.end()));
  g.c_in = x.shape[1];
  g.m = cw.shape[0];
  g.groups = cw.groups;
  g.cg = g.c_in / g.groups;
  g.mg = g.m / g.groups;
  g.kdim = product(cw.shape, 1);
  g.in_plane = g.w.in[0] * g.w.in[1] * g.w.in[2];
  g.p = g.w.out[0] * g.w.out[1] * g.w.out[2];
  g.blocks = detail::row_blocks(g.mg);
  g.panels = detail::column_panels(g.p);
  g.pointwise = g.w.k[0] * g.w.k[1] * g.w.k[2] == 1 && g.w.s[0] * g.w.s[1] * g.w.s[2] == 1 &&
                g.w.pb[0] + g.w.pb[1] + g.w.pb[2] + g.w.pe[0] + g.w.pe[1] + g.w.pe[2] == 0;
  const std::int64_t images = x.shape[0];
  if (images == 0 || g.p == 0 || g.m == 0) return;

  const float* px = x.data.data();
  const float* pw = cw.packed.data();
  const float* pbias = cw.bias.data();
  const float* pres = epilogue.residual ? epilogue.residual->data.data() : nullptr;
  float* py = y.data.data();
  const float alpha = epilogue.alpha;
  const std::size_t panel_bytes = static_cast<std::size_t>(g.kdim * kNr) * sizeof(float);

  detail::TeamPolicy policy(images * g.groups * g.panels, Kokkos::AUTO);
  policy.set_scratch_size(1, Kokkos::PerTeam(panel_bytes));
  Kokkos::parallel_for(
      "beamflow::nn::conv", policy, KOKKOS_LAMBDA(const detail::TeamMember& team) {
        const std::int64_t t = team.league_rank();
        const std::int64_t column_panel = t % g.panels, image_group = t / g.panels;
        const std::int64_t grp = image_group % g.groups, n = image_group / g.groups;
        const std::int64_t p0 = column_panel * kNr, nr = g.p - p0 < kNr ? g.p - p0 : kNr;
        float* panel = static_cast<float*>(team.team_scratch(1).get_shmem(panel_bytes));
        Kokkos::single(Kokkos::PerTeam(team),
                       [&]() { pack_panel(g, px + (n * g.c_in + grp * g.cg) * g.in_plane, p0, panel); });
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, g.blocks), [&](std::int64_t blk) {
          float acc[kMr][kNr];
          detail::tile_product(g.kdim, pw + (grp * g.blocks + blk) * g.kdim * kMr, panel, acc);
          const std::int64_t row0 = blk * kMr, mr = g.mg - row0 < kMr ? g.mg - row0 : kMr;
          const std::int64_t ch = grp * g.mg + row0, at = (n * g.m + ch) * g.p + p0;
          const float* res = pres ? pres + at : nullptr;
          if (act == Unary::Relu)
            store_tile<Unary::Relu>(acc, mr, nr, pbias + ch, res, py + at, g.p, alpha);
          else if (act == Unary::LeakyRelu)
            store_tile<Unary::LeakyRelu>(acc, mr, nr, pbias + ch, res, py + at, g.p, alpha);
          else
            store_tile<Unary::Identity>(acc, mr, nr, pbias + ch, res, py + at, g.p, alpha);
        });
      });
  Kokkos::fence();
}

void conv(const Tensor& x, const Tensor& w, const Tensor* bias, const Window& window, std::int64_t groups,
          Tensor& y) {
  Window checked = window;
  if (conv_shape(x.shape, w.shape, checked, groups) != y.shape)
    throw Error(error_id::Shape, "nn::conv", "output is " + dims_string(y.shape));
  conv(x, pack_conv_weights(w, bias, groups), window, ConvEpilogue{}, y);
}

}  // namespace beamflow::kernels::nn
