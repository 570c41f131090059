#pragma once
// Neural-network operator kernels (the ONNX operators beamflow runs) on dense
// row-major float32 tensors. Spatial operators take N, C, then 1 to 3
// spatial axes (NCW, NCHW, NCDHW); inside, every window is three-dimensional
// with missing leading axes of extent 1, so one implementation serves all.
//
// Conventions (as the other kernel families): read-only inputs, a
// caller-allocated output whose shape the matching *_shape() function
// gives; extents that disagree throw kernels::Error (kernels.shape), bad
// parameters kernels.argument. The graph-level semantics (attributes,
// opsets, broadcasting of initializers) live in jobs/onnx/.
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/views.hpp"

namespace beamflow::kernels::nn {

using Dims = std::vector<std::int64_t>;

// A dense row-major float32 tensor: a flat View and its shape.
struct Tensor {
  Kokkos::View<float*> data;
  Dims shape;

  // Uninitialised storage (every kernel overwrites its whole output).
  static Tensor allocate(const std::string& label, Dims shape);
  std::int64_t size() const;
  std::int64_t rank() const { return static_cast<std::int64_t>(shape.size()); }
  // The same storage seen with another shape of equal size (Reshape,
  // Flatten); throws kernels.shape otherwise.
  Tensor reshaped(Dims new_shape) const;
};

std::int64_t product(const Dims& dims, std::size_t first = 0, std::size_t last = SIZE_MAX);
std::string dims_string(const Dims& dims);  // "[1, 3, 5]"

// ---- windows: Conv, MaxPool, AveragePool ---------------------------------

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// A sliding window over the spatial axes (1 to 3 entries each).
struct Window {
  Dims kernel;
  Dims strides;      // default 1
  Dims dilations;    // default 1
  Dims pads_begin;   // default 0
  Dims pads_end;     // default 0
  AutoPad auto_pad = AutoPad::NotSet;
  bool ceil_mode = false;  // pools only

  // Fills defaults for the given spatial rank and checks values (kernel,
  // strides and dilations >= 1, pads >= 0); throws kernels.argument.
  void complete(std::size_t spatial_rank);
  // The output extent of each spatial axis for `spatial` inputs; resolves
  // auto_pad into pads_begin/pads_end (SAME_UPPER puts an odd pad at the end,
  // SAME_LOWER at the beginning).
  Dims output_extents(const Dims& spatial);
};

enum class Unary { Relu, LeakyRelu, Sigmoid, Tanh, Identity };

// x [N][C][spatial...], w [M][C/groups][kernel...], bias [M] or empty ->
// y [N][M][out...]. Implicit GEMM on register tiles: each team packs the
// receptive fields of 16 output positions (im2col of one panel, kept in
// cache) and multiplies every block of 8 filters with it.
Dims conv_shape(const Dims& x, const Dims& w, Window& window, std::int64_t groups);
void conv(const Tensor& x, const Tensor& w, const Tensor* bias, const Window& window, std::int64_t groups,
          Tensor& y);

// A convolution's weights packed once (at model load) into the row blocks
// the tiled kernel reads, with its bias (zeros when the node has none).
struct ConvWeights {
  Kokkos::View<float*> packed;  // [group][block of 8 filters][C/groups x kernel volume][8]
  Kokkos::View<float*> bias;    // [M]
  Dims shape;                   // the weights' [M][C/groups][kernel...]
  std::int64_t groups = 1;
};
// Throws kernels.shape when w is not [M][C/groups][kernel...] or the bias
// is not [M], kernels.argument for groups < 1.
ConvWeights pack_conv_weights(const Tensor& w, const Tensor* bias, std::int64_t groups);

// What the convolution's store applies, so a Conv(+Add)(+Relu) chain is one
// pass over memory: y = activation(conv(x) + bias + residual).
struct ConvEpilogue {
  const Tensor* residual = nullptr;    // exactly y's shape, or none
  Unary activation = Unary::Identity;  // Identity, Relu or LeakyRelu
  float alpha = 0;                     // LeakyRelu's slope
};
void conv(const Tensor& x, const ConvWeights& w, const Window& window, const ConvEpilogue& epilogue, Tensor& y);

enum class Pool { Max, Average };
// count_include_pad: averages divide by the window clipped to the padded
// input (PyTorch's and ONNX's rule) instead of the valid elements only.
Dims pool_shape(const Dims& x, Window& window);
void pool(const Tensor& x, const Window& window, Pool kind, bool count_include_pad, Tensor& y);
// [N][C][...] -> [N][C][1...]
Dims global_average_pool_shape(const Dims& x);
void global_average_pool(const Tensor& x, Tensor& y);

// ---- dense algebra --------------------------------------------------------

// C[M][N] = alpha * op(A) op(B) + beta * C, row-major with leading
// dimensions lda, ldb, ldc, on raw pointers into Views (the caller keeps
// them alive). beta == 0 ignores C's previous contents (NaN included).
struct Gemm {
  std::int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 0;
};
void gemm(const Gemm& g, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
          std::int64_t ldc);

// numpy.matmul: 1-D operands promoted and the added axis removed; batch
// axes broadcast.
Dims matmul_shape(const Dims& a, const Dims& b);
void matmul(const Tensor& a, const Tensor& b, Tensor& y);

// ---- element-wise ---------------------------------------------------------

// y = f(x) (y may alias x); `alpha` is LeakyRelu's slope.
void unary(Unary op, float alpha, const Tensor& x, Tensor& y);

enum class Binary { Add, Sub, Mul, Div };
// numpy broadcasting (multidirectional); throws kernels.shape when the
// shapes cannot broadcast.
Dims broadcast_shape(const Dims& a, const Dims& b);
void binary(Binary op, const Tensor& a, const Tensor& b, Tensor& y);

// Inference-mode batch normalisation over axis 1: y = scale (x - mean) /
// sqrt(var + epsilon) + bias, each parameter [C].
void batch_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean,
                const Tensor& var, float epsilon, Tensor& y);

// Softmax over the flattened axes [axis, last_axis] of each outer index:
// axis..rank-1 (ONNX opsets < 13, coerced to 2-D) or axis..axis (>= 13).
void softmax(const Tensor& x, std::int64_t axis, std::int64_t last_axis, Tensor& y);

// ---- layout ---------------------------------------------------------------

// Inputs equal in every axis but `axis` (non-negative), stacked along it.
Dims concat_shape(const std::vector<const Tensor*>& inputs, std::int64_t axis);
void concat(const std::vector<const Tensor*>& inputs, std::int64_t axis, Tensor& y);

// y's axis i is x's axis perm[i].
Dims transpose_shape(const Dims& x, const Dims& perm);
void transpose(const Tensor& x, const Dims& perm, Tensor& y);

}  // namespace beamflow::kernels::nn
