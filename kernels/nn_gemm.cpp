// Dense matrix products: the blocked GEMM every Conv, Gemm and MatMul runs on.
//
// C is cut into tiles of kMr rows x kNr columns; each tile's accumulators are
// a fixed-size local array the compiler keeps in vector registers, fed by a
// packed copy of A (kMr values per k, contiguous) and a row segment of B
// (kNr contiguous values per k). Tiles are visited column panel by column
// panel so one panel of B (K x kNr floats) stays in cache while every row
// block of A passes over it.
#include <algorithm>

#include "kernels/error.hpp"
#include "kernels/nn.hpp"

namespace beamflow::kernels::nn {

namespace {

constexpr std::int64_t kMr = 4;
constexpr std::int64_t kNr = 8;

// A full kMr x kNr tile: acc = sum_k ap[k][i] * b[k][j]. One accumulator
// row per named array and the row loop unrolled by hand: GCC then keeps the
// 4 x 8 accumulators in vector registers (a 2-D array indexed in a loop
// goes through memory on every k).
KOKKOS_INLINE_FUNCTION void tile_full(std::int64_t k, const float* ap, const float* b, std::int64_t ldb,
                                      float (&acc)[kMr][kNr]) {
  static_assert(kMr == 4, "tile_full unrolls four rows");
  float c0[kNr] = {}, c1[kNr] = {}, c2[kNr] = {}, c3[kNr] = {};
  for (std::int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    const float a0 = ap[p * kMr], a1 = ap[p * kMr + 1], a2 = ap[p * kMr + 2], a3 = ap[p * kMr + 3];
    for (std::int64_t j = 0; j < kNr; ++j) {
      const float v = bp[j];
      c0[j] += a0 * v;
      c1[j] += a1 * v;
      c2[j] += a2 * v;
      c3[j] += a3 * v;
    }
  }
  for (std::int64_t j = 0; j < kNr; ++j) {
    acc[0][j] = c0[j];
    acc[1][j] = c1[j];
    acc[2][j] = c2[j];
    acc[3][j] = c3[j];
  }
}

// An edge tile of mr <= kMr rows and nr <= kNr columns.
KOKKOS_INLINE_FUNCTION void tile_edge(std::int64_t k, std::int64_t mr, std::int64_t nr, const float* ap,
                                      const float* b, std::int64_t ldb, float (&acc)[kMr][kNr]) {
  for (std::int64_t i = 0; i < kMr; ++i)
    for (std::int64_t j = 0; j < kNr; ++j) acc[i][j] = 0;
  for (std::int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    for (std::int64_t i = 0; i < mr; ++i) {
      const float a = ap[p * kMr + i];
      for (std::int64_t j = 0; j < nr; ++j) acc[i][j] += a * bp[j];
    }
  }
}

}  // namespace

void gemm(const Gemm& g, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
          std::int64_t ldc) {
  if (g.m < 0 || g.n < 0 || g.k < 0)
    throw Error(error_id::Argument, "nn::gemm", "negative matrix extent");
  if (g.m == 0 || g.n == 0) return;
  const std::int64_t m = g.m, n = g.n, k = g.k;

  // B transposed is copied once into row-major [K][N]: the tiles then read
  // contiguous rows whatever the layout.
  Kokkos::View<float*> bt;
  if (g.trans_b && k > 0) {
    bt = Kokkos::View<float*>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::gemm::bt"), k * n);
    float* btp = bt.data();
    Kokkos::parallel_for(
        "beamflow::nn::gemm::transpose_b", Kokkos::RangePolicy<ExecSpace>(0, k), KOKKOS_LAMBDA(std::int64_t p) {
          for (std::int64_t j = 0; j < n; ++j) btp[p * n + j] = b[j * ldb + p];
        });
    b = btp;
    ldb = n;
  }

  // A packed per row block: ap[block][k][i] = A(block * kMr + i, k), zero
  // past the last row.
  const std::int64_t mblocks = (m + kMr - 1) / kMr;
  Kokkos::View<float*> packed(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::gemm::a"),
                              std::max<std::int64_t>(1, mblocks * k * kMr));
  float* ap = packed.data();
  const bool trans_a = g.trans_a;
  Kokkos::parallel_for(
      "beamflow::nn::gemm::pack_a", Kokkos::RangePolicy<ExecSpace>(0, mblocks), KOKKOS_LAMBDA(std::int64_t blk) {
        float* dst = ap + blk * k * kMr;
        for (std::int64_t p = 0; p < k; ++p)
          for (std::int64_t i = 0; i < kMr; ++i) {
            const std::int64_t row = blk * kMr + i;
            dst[p * kMr + i] = row < m ? (trans_a ? a[p * lda + row] : a[row * lda + p]) : 0.0f;
          }
      });

  const std::int64_t nblocks = (n + kNr - 1) / kNr;
  const float alpha = g.alpha, beta = g.beta;
  Kokkos::parallel_for(
      "beamflow::nn::gemm::tiles", Kokkos::RangePolicy<ExecSpace>(0, mblocks * nblocks),
      KOKKOS_LAMBDA(std::int64_t t) {
        const std::int64_t nb = t / mblocks, mb = t % mblocks;
        const std::int64_t row0 = mb * kMr, col0 = nb * kNr;
        const std::int64_t mr = m - row0 < kMr ? m - row0 : kMr;
        const std::int64_t nr = n - col0 < kNr ? n - col0 : kNr;
        float acc[kMr][kNr];
        if (nr == kNr)
          tile_full(k, ap + mb * k * kMr, b + col0, ldb, acc);
        else
          tile_edge(k, mr, nr, ap + mb * k * kMr, b + col0, ldb, acc);
        for (std::int64_t i = 0; i < mr; ++i) {
          float* crow = c + (row0 + i) * ldc + col0;
          if (beta == 0.0f) {
            for (std::int64_t j = 0; j < nr; ++j) crow[j] = alpha * acc[i][j];
          } else {
            for (std::int64_t j = 0; j < nr; ++j) crow[j] = alpha * acc[i][j] + beta * crow[j];
          }
        }
      });
  Kokkos::fence();
}

Dims matmul_shape(const Dims& a, const Dims& b) {
  if (a.empty() || b.empty())
    throw Error(error_id::Shape, "nn::matmul", "operands must have at least one axis");
  Dims a2 = a.size() == 1 ? Dims{1, a[0]} : a;
  Dims b2 = b.size() == 1 ? Dims{b[0], 1} : b;
  const std::int64_t k = a2.back();
  if (b2[b2.size() - 2] != k)
    throw Error(error_id::Shape, "nn::matmul",
                "inner extents differ: " + dims_string(a) + " x " + dims_string(b));
  Dims out = broadcast_shape(Dims(a2.begin(), a2.end() - 2), Dims(b2.begin(), b2.end() - 2));
  if (a.size() > 1) out.push_back(a2[a2.size() - 2]);
  if (b.size() > 1) out.push_back(b2.back());
  return out;
}

void matmul(const Tensor& a, const Tensor& b, Tensor& y) {
  if (matmul_shape(a.shape, b.shape) != y.shape)
    throw Error(error_id::Shape, "nn::matmul", "output is " + dims_string(y.shape));
  Dims a2 = a.rank() == 1 ? Dims{1, a.shape[0]} : a.shape;
  Dims b2 = b.rank() == 1 ? Dims{b.shape[0], 1} : b.shape;
  const std::int64_t m = a2[a2.size() - 2], k = a2.back(), n = b2.back();
  const Dims batch_a(a2.begin(), a2.end() - 2), batch_b(b2.begin(), b2.end() - 2);
  const Dims batch = broadcast_shape(batch_a, batch_b);
  const std::int64_t batches = product(batch);
  // Each output batch index maps to one matrix of A and of B; a broadcast
  // axis contributes nothing to the offset.
  for (std::int64_t bi = 0; bi < batches; ++bi) {
    std::int64_t rest = bi, off_a = 0, off_b = 0, stride_a = 1, stride_b = 1;
    for (std::size_t d = batch.size(); d-- > 0;) {
      const std::int64_t idx = rest % batch[d];
      rest /= batch[d];
      const std::size_t from_end = batch.size() - 1 - d;
      if (from_end < batch_a.size()) {
        const std::int64_t ext = batch_a[batch_a.size() - 1 - from_end];
        if (ext != 1) off_a += idx * stride_a;
        stride_a *= ext;
      }
      if (from_end < batch_b.size()) {
        const std::int64_t ext = batch_b[batch_b.size() - 1 - from_end];
        if (ext != 1) off_b += idx * stride_b;
        stride_b *= ext;
      }
    }
    gemm(Gemm{m, n, k}, a.data.data() + off_a * m * k, k, b.data.data() + off_b * k * n, n,
         y.data.data() + bi * m * n, n);
  }
}

}  // namespace beamflow::kernels::nn
