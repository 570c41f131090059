// Operators that move elements without arithmetic: Concat and Transpose.
#include "kernels/common/error.hpp"
#include "kernels/ml/nn.hpp"

namespace beamflow::kernels::nn {

Dims concat_shape(const std::vector<const Tensor*>& inputs, std::int64_t axis) {
  if (inputs.empty()) throw Error(error_id::Argument, "nn::concat", "no inputs");
  Dims out = inputs.front()->shape;
  if (axis < 0 || axis >= static_cast<std::int64_t>(out.size()))
    throw Error(error_id::Argument, "nn::concat", "axis " + std::to_string(axis) + " out of range");
  out[axis] = 0;
  for (const Tensor* t : inputs) {
    const Dims& s = t->shape;
    if (s.size() != out.size())
      throw Error(error_id::Shape, "nn::concat", "ranks differ: " + dims_string(s) + " and " + dims_string(out));
    const std::int64_t along = s[axis];
    for (std::size_t d = 0; d < s.size(); ++d)
      if (static_cast<std::int64_t>(d) != axis && s[d] != out[d])
        throw Error(error_id::Shape, "nn::concat",
                    "input " + dims_string(t->shape) + " differs outside axis " + std::to_string(axis));
    out[axis] += along;
  }
  return out;
}

void concat(const std::vector<const Tensor*>& inputs, std::int64_t axis, Tensor& y) {
  if (concat_shape(inputs, axis) != y.shape)
    throw Error(error_id::Shape, "nn::concat", "output is " + dims_string(y.shape));
  // Each input is `outer` blocks of `len` contiguous values, copied to its
  // column offset within the output's blocks of `out_len`.
  const std::int64_t outer = product(y.shape, 0, axis);
  const std::int64_t out_len = product(y.shape, axis);
  std::int64_t offset = 0;
  float* out = y.data.data();
  for (const Tensor* t : inputs) {
    const std::int64_t len = product(t->shape, axis);
    const float* in = t->data.data();
    const std::int64_t at = offset;
    Kokkos::parallel_for("beamflow::nn::concat", Kokkos::RangePolicy<ExecSpace>(0, outer),
                         KOKKOS_LAMBDA(std::int64_t o) {
                           for (std::int64_t i = 0; i < len; ++i) out[o * out_len + at + i] = in[o * len + i];
                         });
    offset += len;
  }
  Kokkos::fence();
}

Dims transpose_shape(const Dims& x, const Dims& perm) {
  if (perm.size() != x.size())
    throw Error(error_id::Argument, "nn::transpose",
                "perm " + dims_string(perm) + " for a tensor of rank " + std::to_string(x.size()));
  std::vector<bool> seen(x.size(), false);
  Dims out(x.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    const std::int64_t p = perm[i];
    if (p < 0 || p >= static_cast<std::int64_t>(x.size()) || seen[p])
      throw Error(error_id::Argument, "nn::transpose", "perm " + dims_string(perm) + " is not a permutation");
    seen[p] = true;
    out[i] = x[p];
  }
  return out;
}

void transpose(const Tensor& x, const Dims& perm, Tensor& y) {
  if (transpose_shape(x.shape, perm) != y.shape)
    throw Error(error_id::Shape, "nn::transpose", "output is " + dims_string(y.shape));
  constexpr int kMaxRank = 8;
  const int rank = static_cast<int>(x.rank());
  if (rank > kMaxRank) throw Error(error_id::Shape, "nn::transpose", "rank above 8");
  struct Strides {
    std::int64_t ext[kMaxRank] = {}, in_stride[kMaxRank] = {};
  } s;
  // in_stride[i]: how far x moves when y's axis i advances.
  std::int64_t stride = 1;
  Dims x_strides(rank);
  for (int d = rank - 1; d >= 0; --d) {
    x_strides[d] = stride;
    stride *= x.shape[d];
  }
  for (int i = 0; i < rank; ++i) {
    s.ext[i] = y.shape[i];
    s.in_stride[i] = x_strides[perm[i]];
  }
  const float* in = x.data.data();
  float* out = y.data.data();
  Kokkos::parallel_for("beamflow::nn::transpose", Kokkos::RangePolicy<ExecSpace>(0, y.size()),
                       KOKKOS_LAMBDA(std::int64_t i) {
                         std::int64_t rest = i, src = 0;
                         for (int d = rank - 1; d >= 0; --d) {
                           src += (rest % s.ext[d]) * s.in_stride[d];
                           rest /= s.ext[d];
                         }
                         out[i] = in[src];
                       });
  Kokkos::fence();
}

}  // namespace beamflow::kernels::nn
