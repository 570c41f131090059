// Dense matrix products (Gemm, MatMul) on the register tiles of
// nn_detail.hpp: A packed into blocks of 8 rows, B packed per team into
// panels of 16 columns (either layout, transposed or not), alpha and beta
// applied at the store.
#include <algorithm>

#include "kernels/common/error.hpp"
#include "kernels/ml/nn_detail.hpp"

namespace beamflow::kernels::nn {

using detail::kMr;
using detail::kNr;

void gemm(const Gemm& g, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
          std::int64_t ldc) {
  if (g.m < 0 || g.n < 0 || g.k < 0)
    throw Error(error_id::Argument, "nn::gemm", "negative matrix extent");
  if (g.m == 0 || g.n == 0) return;
  const std::int64_t m = g.m, n = g.n, k = g.k;

  // ap[block][k][i] = A(block * kMr + i, k), zero past the last row.
  const std::int64_t blocks = detail::row_blocks(m);
  Kokkos::View<float*> packed(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::nn::gemm::a"),
                              std::max<std::int64_t>(1, blocks * k * kMr));
  float* ap = packed.data();
  const bool trans_a = g.trans_a, trans_b = g.trans_b;
  Kokkos::parallel_for(
      "beamflow::nn::gemm::pack_a", Kokkos::RangePolicy<ExecSpace>(0, blocks), KOKKOS_LAMBDA(std::int64_t blk) {
        float* dst = ap + blk * k * kMr;
        for (std::int64_t p = 0; p < k; ++p)
          for (std::int64_t i = 0; i < kMr; ++i) {
            const std::int64_t row = blk * kMr + i;
            dst[p * kMr + i] = row < m ? (trans_a ? a[p * lda + row] : a[row * lda + p]) : 0.0f;
          }
      });
  Kokkos::fence();

  const float alpha = g.alpha, beta = g.beta;
  const std::int64_t panel_floats = std::max<std::int64_t>(1, k * kNr);
  detail::TeamPolicy policy(detail::column_panels(n), Kokkos::AUTO);
  policy.set_scratch_size(1, Kokkos::PerTeam(static_cast<std::size_t>(panel_floats) * sizeof(float)));
  Kokkos::parallel_for(
      "beamflow::nn::gemm", policy, KOKKOS_LAMBDA(const detail::TeamMember& team) {
        const std::int64_t col0 = team.league_rank() * kNr, nr = n - col0 < kNr ? n - col0 : kNr;
        detail::ScratchPanel bp(team.team_scratch(1), panel_floats);
        Kokkos::single(Kokkos::PerTeam(team), [&]() {
          for (std::int64_t p = 0; p < k; ++p)
            for (std::int64_t j = 0; j < kNr; ++j)
              bp(p * kNr + j) = j < nr ? (trans_b ? b[(col0 + j) * ldb + p] : b[p * ldb + col0 + j]) : 0.0f;
        });
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, blocks), [&](std::int64_t blk) {
          float acc[kMr][kNr];
          detail::tile_product(k, ap + blk * k * kMr, bp.data(), acc);
          const std::int64_t row0 = blk * kMr, mr = m - row0 < kMr ? m - row0 : kMr;
          for (std::int64_t i = 0; i < mr; ++i) {
            float* crow = c + (row0 + i) * ldc + col0;
            if (beta == 0.0f) {
              for (std::int64_t j = 0; j < nr; ++j) crow[j] = alpha * acc[i][j];
            } else {
              for (std::int64_t j = 0; j < nr; ++j) crow[j] = alpha * acc[i][j] + beta * crow[j];
            }
          }
        });
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
