// The nn kernels against plain nested loops written straight from the ONNX
// definitions, over shapes the libonnx-testdata cases do not reach: groups,
// dilations, 1-D and 3-D windows, GEMM edge tiles and transposes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "jobs/models/runtime.hpp"
#include "kernels/common/error.hpp"
#include "kernels/ml/nn.hpp"

namespace beamflow::kernels::nn {
namespace {

Tensor random_tensor(Dims shape, std::mt19937& rng) {
  models::ensure_kokkos();
  Tensor t = Tensor::allocate("t", std::move(shape));
  auto h = Kokkos::create_mirror_view(t.data);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t i = 0; i < h.extent(0); ++i) h(i) = u(rng);
  Kokkos::deep_copy(t.data, h);
  return t;
}

std::vector<float> host(const Tensor& t) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.data);
  return std::vector<float>(h.data(), h.data() + t.size());
}

// Direct convolution over 1 to 3 spatial axes (missing leading ones of
// extent 1), double accumulation, plus an optional bias.
std::vector<float> naive_conv(const Tensor& x, const Tensor& w, const Tensor* bias, const Window& win,
                              std::int64_t groups, const Dims& out) {
  const auto xv = host(x), wv = host(w);
  const auto bv = bias ? host(*bias) : std::vector<float>(w.shape[0], 0.0f);
  const std::size_t lead = 5 - x.shape.size();
  // Spatial axis i (0..2) of a tensor seen as 5-D.
  const auto ax = [&](const Dims& d, std::size_t i, std::int64_t pad) { return i < lead ? pad : d[i + 2 - lead]; };
  std::int64_t in[3], o[3], k[3], s[3], dl[3], pb[3];
  for (std::size_t i = 0; i < 3; ++i) {
    in[i] = ax(x.shape, i, 1);
    o[i] = ax(out, i, 1);
    k[i] = ax(w.shape, i, 1);
    s[i] = i < lead ? 1 : win.strides[i - lead];
    dl[i] = i < lead ? 1 : win.dilations[i - lead];
    pb[i] = i < lead ? 0 : win.pads_begin[i - lead];
  }
  const std::int64_t C = x.shape[1], M = w.shape[0], cg = C / groups, mg = M / groups;
  std::vector<float> y(product(out));
  for (std::int64_t n = 0; n < out[0]; ++n)
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t od = 0; od < o[0]; ++od)
        for (std::int64_t oh = 0; oh < o[1]; ++oh)
          for (std::int64_t ow = 0; ow < o[2]; ++ow) {
            double acc = bv[m];
            const std::int64_t g = m / mg;
            for (std::int64_t c = 0; c < cg; ++c)
              for (std::int64_t kd = 0; kd < k[0]; ++kd)
                for (std::int64_t kh = 0; kh < k[1]; ++kh)
                  for (std::int64_t kw = 0; kw < k[2]; ++kw) {
                    const std::int64_t id = od * s[0] - pb[0] + kd * dl[0];
                    const std::int64_t ih = oh * s[1] - pb[1] + kh * dl[1];
                    const std::int64_t iw = ow * s[2] - pb[2] + kw * dl[2];
                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2]) continue;
                    acc += double(xv[(((n * C + g * cg + c) * in[0] + id) * in[1] + ih) * in[2] + iw]) *
                           wv[(((m * cg + c) * k[0] + kd) * k[1] + kh) * k[2] + kw];
                  }
            y[(((n * M + m) * o[0] + od) * o[1] + oh) * o[2] + ow] = static_cast<float>(acc);
          }
  return y;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << "element " << i;
}

struct ConvCase {
  Dims x, w;
  Dims strides, dilations, pads;
  std::int64_t groups;
};

TEST(NnConv, MatchesDirectConvolution) {
  std::mt19937 rng(7);
  const std::vector<ConvCase> cases = {
      {{2, 3, 9, 11}, {5, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
      {{1, 4, 10, 7}, {6, 2, 3, 2}, {2, 1}, {1, 2}, {0, 1, 2, 0}, 2},  // groups, dilation, asymmetric pads
      {{1, 6, 8, 8}, {6, 1, 3, 3}, {1, 2}, {2, 1}, {2, 2, 2, 2}, 6},   // depthwise
      {{3, 8, 5, 5}, {17, 8, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},  // pointwise fast path, edge tiles
      {{1, 1, 37, 29}, {9, 1, 7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1},  // a ResNet stem
      // Outputs 16 and 32 wide: panels within one row, stride 1, 2 and 3,
      // interior and clipped taps; 8 and 9 filters (full and edge blocks).
      {{2, 3, 18, 34}, {8, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
      {{1, 2, 9, 64}, {9, 2, 3, 3}, {1, 2}, {1, 1}, {1, 1, 1, 1}, 1},
      {{1, 2, 5, 97}, {8, 2, 1, 5}, {1, 3}, {1, 2}, {0, 2, 0, 1}, 1},
      {{2, 16, 16, 16}, {32, 16, 1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1},  // strided 1x1 (ResNet downsample)
      {{1, 1, 20, 64}, {16, 1, 7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1},      // the tagger's stem, 32 wide: paired taps
  };
  for (const ConvCase& c : cases) {
    const Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng);
    Window win;
    win.strides = c.strides;
    win.dilations = c.dilations;
    win.pads_begin = {c.pads[0], c.pads[1]};
    win.pads_end = {c.pads[2], c.pads[3]};
    const Dims out = conv_shape(x.shape, w.shape, win, c.groups);
    Tensor y = Tensor::allocate("y", out);
    conv(x, w, nullptr, win, c.groups, y);
    expect_close(host(y), naive_conv(x, w, nullptr, win, c.groups, out), 1e-5);
  }
}

TEST(NnConv, BiasIsAddedPerFilter) {
  std::mt19937 rng(3);
  const Tensor x = random_tensor({1, 2, 4, 4}, rng), w = random_tensor({3, 2, 1, 1}, rng);
  const Tensor b = random_tensor({3}, rng);
  Window win;
  Tensor y0 = Tensor::allocate("y0", conv_shape(x.shape, w.shape, win, 1)), y1 = Tensor::allocate("y1", y0.shape);
  conv(x, w, nullptr, win, 1, y0);
  conv(x, w, &b, win, 1, y1);
  const auto a = host(y0), c = host(y1), bv = host(b);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(c[i] - a[i], bv[i / 16], 1e-6);
}

TEST(NnConv, WrongWeightsAreAShapeError) {
  std::mt19937 rng(1);
  const Tensor x = random_tensor({1, 3, 4, 4}, rng), w = random_tensor({2, 2, 3, 3}, rng);
  Window win;
  try {
    conv_shape(x.shape, w.shape, win, 1);
    FAIL();
  } catch (const kernels::Error& e) {
    EXPECT_EQ(e.id(), "kernels.shape");
    EXPECT_NE(std::string(e.what()).find("weights [2, 2, 3, 3]"), std::string::npos) << e.what();
  }
}

// The fused store (bias + residual + activation) against the unfused
// reference, over 1-D, 2-D and 3-D windows with groups, strides,
// dilations, padding and edge tiles.
TEST(NnConv, FusedEpilogueMatchesUnfusedReference) {
  std::mt19937 rng(11);
  struct Case {
    Dims x, w, strides, dilations, pads_begin, pads_end;
    std::int64_t groups;
    Unary act;
  };
  const std::vector<Case> cases = {
      {{2, 4, 13, 21}, {6, 2, 3, 3}, {1, 1}, {1, 2}, {1, 2}, {1, 2}, 2, Unary::Relu},
      {{1, 3, 40}, {11, 3, 4}, {3}, {2}, {2}, {1}, 1, Unary::LeakyRelu},
      {{1, 2, 4, 5, 19}, {10, 2, 2, 3, 3}, {1, 2, 1}, {2, 1, 1}, {1, 0, 1}, {0, 1, 1}, 1, Unary::Relu},
      {{3, 16, 8, 32}, {16, 16, 3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, Unary::Identity},
      {{2, 8, 7, 7}, {8, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 8, Unary::Relu},  // depthwise
  };
  for (const Case& c : cases) {
    const Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng), b = random_tensor({c.w[0]}, rng);
    Window win;
    win.strides = c.strides;
    win.dilations = c.dilations;
    win.pads_begin = c.pads_begin;
    win.pads_end = c.pads_end;
    const Dims out = conv_shape(x.shape, w.shape, win, c.groups);
    const Tensor residual = random_tensor(out, rng);
    Tensor y = Tensor::allocate("y", out);
    conv(x, pack_conv_weights(w, &b, c.groups), win, ConvEpilogue{&residual, c.act, 0.1f}, y);
    std::vector<float> want = naive_conv(x, w, &b, win, c.groups, out);
    const auto r = host(residual);
    for (std::size_t i = 0; i < want.size(); ++i) {
      const float v = want[i] + r[i];
      want[i] = c.act == Unary::Relu ? std::max(v, 0.0f) : c.act == Unary::LeakyRelu && v < 0 ? 0.1f * v : v;
    }
    expect_close(host(y), want, 1e-5);
  }
}

TEST(NnConv, FusedEpilogueRefusesBadResidualsAndActivations) {
  std::mt19937 rng(2);
  const Tensor x = random_tensor({1, 2, 6, 6}, rng), w = random_tensor({4, 2, 3, 3}, rng);
  Window win;
  Tensor y = Tensor::allocate("y", conv_shape(x.shape, w.shape, win, 1));
  const ConvWeights packed = pack_conv_weights(w, nullptr, 1);
  const Tensor wrong = random_tensor({1, 4, 1, 1}, rng);
  try {
    conv(x, packed, win, ConvEpilogue{&wrong}, y);
    FAIL();
  } catch (const kernels::Error& e) {
    EXPECT_EQ(e.id(), "kernels.shape");
    EXPECT_NE(std::string(e.what()).find("residual [1, 4, 1, 1] for output [1, 4, 4, 4]"), std::string::npos) << e.what();
  }
  try {
    conv(x, packed, win, ConvEpilogue{nullptr, Unary::Sigmoid}, y);
    FAIL();
  } catch (const kernels::Error& e) {
    EXPECT_EQ(e.id(), "kernels.argument");
    EXPECT_NE(std::string(e.what()).find("Identity, Relu or LeakyRelu only"), std::string::npos) << e.what();
  }
  try {
    pack_conv_weights(w, nullptr, 3);
    FAIL();
  } catch (const kernels::Error& e) {
    EXPECT_EQ(e.id(), "kernels.shape");
    EXPECT_NE(std::string(e.what()).find("for 3 groups"), std::string::npos) << e.what();
  }
}

TEST(NnGemm, AllTransposesAndEdgeTiles) {
  std::mt19937 rng(5);
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {5, 17, 3}, {33, 70, 41}, {4, 16, 0}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Tensor a = random_tensor(ta ? Dims{k, m} : Dims{m, k}, rng);
        const Tensor b = random_tensor(tb ? Dims{n, k} : Dims{k, n}, rng);
        Tensor c = random_tensor({m, n}, rng);
        const auto av = host(a), bv = host(b), c0 = host(c);
        gemm(Gemm{m, n, k, ta, tb, 0.5f, 2.0f}, a.data.data(), a.shape[1], b.data.data(), b.shape[1], c.data.data(), n);
        std::vector<float> want(m * n);
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) {
            double acc = 0;
            for (int p = 0; p < k; ++p)
              acc += double(ta ? av[p * m + i] : av[i * k + p]) * (tb ? bv[j * k + p] : bv[p * n + j]);
            want[i * n + j] = static_cast<float>(0.5 * acc + 2.0 * c0[i * n + j]);
          }
        expect_close(host(c), want, 1e-5);
      }
}

TEST(NnPool, DilatedThreeDimensionalMaxAndOneDimensionalAverage) {
  std::mt19937 rng(9);
  const Tensor x = random_tensor({1, 2, 5, 6, 7}, rng);
  Window win;
  win.kernel = {2, 3, 2};
  win.dilations = {2, 1, 3};
  win.strides = {1, 2, 1};
  Tensor y = Tensor::allocate("y", pool_shape(x.shape, win));
  ASSERT_EQ(y.shape, (Dims{1, 2, 3, 2, 4}));
  pool(x, win, Pool::Max, false, y);
  const auto xv = host(x), yv = host(y);
  for (int c = 0; c < 2; ++c)
    for (int d = 0; d < 3; ++d)
      for (int h = 0; h < 2; ++h)
        for (int w = 0; w < 4; ++w) {
          float mx = -INFINITY;
          for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 3; ++b)
              for (int e = 0; e < 2; ++e)
                mx = std::max(mx, xv[((c * 5 + d + 2 * a) * 6 + 2 * h + b) * 7 + w + 3 * e]);
          EXPECT_EQ(yv[((c * 3 + d) * 2 + h) * 4 + w], mx);
        }

  const Tensor x1 = random_tensor({1, 1, 5}, rng);
  Window w1;
  w1.kernel = {3};
  w1.pads_begin = {1};
  w1.pads_end = {1};
  w1.strides = {2};
  w1.ceil_mode = true;
  Tensor y1 = Tensor::allocate("y1", pool_shape(x1.shape, w1));
  ASSERT_EQ(y1.shape, (Dims{1, 1, 3}));
  pool(x1, w1, Pool::Average, false, y1);
  const auto a = host(x1), r = host(y1);
  EXPECT_NEAR(r[0], (a[0] + a[1]) / 2, 1e-6);
  EXPECT_NEAR(r[2], (a[3] + a[4]) / 2, 1e-6);
}

TEST(NnBroadcast, IncompatibleShapesAreRefused) {
  try {
    broadcast_shape({2, 3}, {4});
    FAIL();
  } catch (const kernels::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shapes [2, 3] and [4] do not broadcast"), std::string::npos);
  }
  EXPECT_EQ(broadcast_shape({2, 1, 4}, {3, 1}), (Dims{2, 3, 4}));
}

}  // namespace
}  // namespace beamflow::kernels::nn
