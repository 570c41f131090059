// Tensor storage and the element-wise operators: activations, broadcast
// arithmetic, batch normalisation, softmax.
#include <cmath>

#include "kernels/common/device_math.hpp"
#include "kernels/common/error.hpp"
#include "kernels/ml/nn.hpp"

namespace beamflow::kernels::nn {

std::int64_t product(const Dims& dims, std::size_t first, std::size_t last) {
  std::int64_t p = 1;
  for (std::size_t i = first; i < dims.size() && i < last; ++i) p *= dims[i];
  return p;
}

std::string dims_string(const Dims& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

Tensor Tensor::allocate(const std::string& label, Dims shape) {
  for (std::int64_t d : shape)
    if (d < 0) throw Error(error_id::Shape, "nn::Tensor", "negative extent in " + dims_string(shape));
  Tensor t;
  t.data = Kokkos::View<float*>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), product(shape));
  t.shape = std::move(shape);
  return t;
}

std::int64_t Tensor::size() const { return product(shape); }

Tensor Tensor::reshaped(Dims new_shape) const {
  if (product(new_shape) != size())
    throw Error(error_id::Shape, "nn::Tensor::reshaped",
                "cannot view " + dims_string(shape) + " as " + dims_string(new_shape));
  return Tensor{data, std::move(new_shape)};
}

namespace {

void check_same(const char* where, const Tensor& x, const Tensor& y) {
  if (x.shape != y.shape)
    throw Error(error_id::Shape, where, "input " + dims_string(x.shape) + ", output " + dims_string(y.shape));
}

}  // namespace

void unary(Unary op, float alpha, const Tensor& x, Tensor& y) {
  check_same("nn::unary", x, y);
  const float* in = x.data.data();
  float* out = y.data.data();
  const auto range = Kokkos::RangePolicy<ExecSpace>(0, x.size());
  // One loop per operator so each inner loop is branch-free and vectorises.
  switch (op) {
    case Unary::Relu:
      Kokkos::parallel_for("beamflow::nn::relu", range, KOKKOS_LAMBDA(std::int64_t i) {
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
      });
      break;
    case Unary::LeakyRelu:
      Kokkos::parallel_for("beamflow::nn::leaky_relu", range, KOKKOS_LAMBDA(std::int64_t i) {
        out[i] = in[i] >= 0.0f ? in[i] : alpha * in[i];
      });
      break;
    case Unary::Sigmoid:
      // Two forms so exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below.
      Kokkos::parallel_for("beamflow::nn::sigmoid", range, KOKKOS_LAMBDA(std::int64_t i) {
        const float v = in[i];
        if (v >= 0.0f) {
          out[i] = 1.0f / (1.0f + math::exp(-v));
        } else {
          const float e = math::exp(v);
          out[i] = e / (1.0f + e);
        }
      });
      break;
    case Unary::Tanh:
      Kokkos::parallel_for("beamflow::nn::tanh", range, KOKKOS_LAMBDA(std::int64_t i) {
        out[i] = math::tanh(in[i]);
      });
      break;
    case Unary::Identity:
      Kokkos::parallel_for("beamflow::nn::identity", range, KOKKOS_LAMBDA(std::int64_t i) { out[i] = in[i]; });
      break;
  }
  Kokkos::fence();
}

Dims broadcast_shape(const Dims& a, const Dims& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(error_id::Shape, "nn::broadcast",
                  "shapes " + dims_string(a) + " and " + dims_string(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

constexpr int kMaxRank = 8;

// Element strides of `in` seen through the broadcast output shape (0 on
// broadcast axes), right-aligned as numpy aligns shapes.
struct BroadcastStrides {
  std::int64_t v[kMaxRank] = {};
};
BroadcastStrides broadcast_strides(const Dims& in, const Dims& out) {
  BroadcastStrides s;
  std::int64_t stride = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t d_in = in.size() - 1 - k, d_out = out.size() - 1 - k;
    s.v[d_out] = in[d_in] == 1 ? 0 : stride;
    stride *= in[d_in];
  }
  return s;
}

struct Extents {
  std::int64_t v[kMaxRank] = {};
};

template <class F>
void binary_loop(const char* label, const Tensor& a, const Tensor& b, Tensor& y, F f) {
  const float* pa = a.data.data();
  const float* pb = b.data.data();
  float* py = y.data.data();
  const std::int64_t n = y.size();
  if (a.shape == b.shape) {  // the common case: no index arithmetic
    Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecSpace>(0, n),
                         KOKKOS_LAMBDA(std::int64_t i) { py[i] = f(pa[i], pb[i]); });
    return;
  }
  const int rank = static_cast<int>(y.shape.size());
  const BroadcastStrides sa = broadcast_strides(a.shape, y.shape), sb = broadcast_strides(b.shape, y.shape);
  Extents ext;
  for (int d = 0; d < rank; ++d) ext.v[d] = y.shape[d];
  Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecSpace>(0, n), KOKKOS_LAMBDA(std::int64_t i) {
    std::int64_t rest = i, ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const std::int64_t idx = rest % ext.v[d];
      rest /= ext.v[d];
      ia += idx * sa.v[d];
      ib += idx * sb.v[d];
    }
    py[i] = f(pa[ia], pb[ib]);
  });
}

}  // namespace

void binary(Binary op, const Tensor& a, const Tensor& b, Tensor& y) {
  const Dims out = broadcast_shape(a.shape, b.shape);
  if (out != y.shape || out.size() > kMaxRank)
    throw Error(error_id::Shape, "nn::binary",
                "output " + dims_string(y.shape) + " for inputs " + dims_string(a.shape) + ", " +
                    dims_string(b.shape) + " (rank at most 8)");
  switch (op) {
    case Binary::Add:
      binary_loop("beamflow::nn::add", a, b, y, KOKKOS_LAMBDA(float u, float v) { return u + v; });
      break;
    case Binary::Sub:
      binary_loop("beamflow::nn::sub", a, b, y, KOKKOS_LAMBDA(float u, float v) { return u - v; });
      break;
    case Binary::Mul:
      binary_loop("beamflow::nn::mul", a, b, y, KOKKOS_LAMBDA(float u, float v) { return u * v; });
      break;
    case Binary::Div:
      binary_loop("beamflow::nn::div", a, b, y, KOKKOS_LAMBDA(float u, float v) { return u / v; });
      break;
  }
  Kokkos::fence();
}

void batch_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean,
                const Tensor& var, float epsilon, Tensor& y) {
  check_same("nn::batch_norm", x, y);
  if (x.rank() < 2) throw Error(error_id::Shape, "nn::batch_norm", "input needs axes N and C");
  const std::int64_t c = x.shape[1], inner = product(x.shape, 2), outer = x.shape[0];
  for (const Tensor* p : {&scale, &bias, &mean, &var})
    if (p->size() != c)
      throw Error(error_id::Shape, "nn::batch_norm",
                  "parameter " + dims_string(p->shape) + " for " + std::to_string(c) + " channels");
  // Folded per channel into y = a x + b, computed as ONNX's reference does
  // (in float32) so results stay within rounding of it.
  Kokkos::View<float*> coef(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::batch_norm::coef"),
                            2 * c);
  float* pc = coef.data();
  const float *ps = scale.data.data(), *pb = bias.data.data(), *pm = mean.data.data(), *pv = var.data.data();
  Kokkos::parallel_for("beamflow::nn::batch_norm::fold", Kokkos::RangePolicy<ExecSpace>(0, c),
                       KOKKOS_LAMBDA(std::int64_t ch) {
                         const float a = ps[ch] / math::sqrt(pv[ch] + epsilon);
                         pc[2 * ch] = a;
                         pc[2 * ch + 1] = pb[ch] - a * pm[ch];
                       });
  const float* in = x.data.data();
  float* out = y.data.data();
  Kokkos::parallel_for("beamflow::nn::batch_norm", Kokkos::RangePolicy<ExecSpace>(0, outer * c),
                       KOKKOS_LAMBDA(std::int64_t plane) {
                         const std::int64_t ch = plane % c;
                         const float a = pc[2 * ch], b = pc[2 * ch + 1];
                         const float* src = in + plane * inner;
                         float* dst = out + plane * inner;
                         for (std::int64_t i = 0; i < inner; ++i) dst[i] = a * src[i] + b;
                       });
  Kokkos::fence();
}

void softmax(const Tensor& x, std::int64_t axis, std::int64_t last_axis, Tensor& y) {
  check_same("nn::softmax", x, y);
  if (axis < 0 || last_axis < axis || last_axis >= x.rank())
    throw Error(error_id::Argument, "nn::softmax", "axes out of range for " + dims_string(x.shape));
  const std::int64_t outer = product(x.shape, 0, axis);
  const std::int64_t len = product(x.shape, axis, last_axis + 1);
  const std::int64_t inner = product(x.shape, last_axis + 1);
  const float* in = x.data.data();
  float* out = y.data.data();
  // Max-subtracted, as every framework computes it.
  Kokkos::parallel_for("beamflow::nn::softmax", Kokkos::RangePolicy<ExecSpace>(0, outer * inner),
                       KOKKOS_LAMBDA(std::int64_t r) {
                         const std::int64_t o = r / inner, i = r % inner;
                         const float* src = in + o * len * inner + i;
                         float* dst = out + o * len * inner + i;
                         float mx = src[0];
                         for (std::int64_t j = 1; j < len; ++j) mx = src[j * inner] > mx ? src[j * inner] : mx;
                         float sum = 0;
                         for (std::int64_t j = 0; j < len; ++j) {
                           dst[j * inner] = math::exp(src[j * inner] - mx);
                           sum += dst[j * inner];
                         }
                         for (std::int64_t j = 0; j < len; ++j) dst[j * inner] /= sum;
                       });
  Kokkos::fence();
}

}  // namespace beamflow::kernels::nn
