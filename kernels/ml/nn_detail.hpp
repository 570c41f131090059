#pragma once
// Internals shared by the kernels/nn*.cpp files (not part of the kernel
// interface): the register tile every dense product runs on, and windows
// normalised to three spatial axes.
#include <cstdint>

#include "kernels/ml/nn.hpp"

// Fully unrolls the next loop. The register tile relies on it: only when the
// row loop is unrolled does each accumulator row get its own vector
// registers (otherwise GCC keeps the 2-D tile in memory, ~15x slower).
#if defined(__clang__) || defined(__CUDACC__)
#define BEAMFLOW_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define BEAMFLOW_UNROLL _Pragma("GCC unroll 16")
#else
#define BEAMFLOW_UNROLL
#endif

namespace beamflow::kernels::nn::detail {

// Tile shape: 8 rows (output channels / rows of A) x 16 columns (output
// positions / columns of B). With AVX2 or AVX-512VL that is 16 accumulator
// registers of 8 floats fed per k by two loads of B and eight broadcasts of
// A; ~80-90 GFLOP/s per core here on L1/L2-resident panels.
inline constexpr std::int64_t kMr = 8;
inline constexpr std::int64_t kNr = 16;

// acc[i][j] = sum_p a[p][i] * b[p][j]: `a` a packed row block [k][kMr],
// `b` a packed column panel [k][kNr] (both zero-padded at the edges, so a
// tile is always full and only the store is clipped). B must be a packed
// panel at a fixed stride: reading its rows through a pointer per p
// (to skip the copy) stops GCC 12 -O3 from vectorising this loop (12 vs 70+
// GFLOP/s).
KOKKOS_INLINE_FUNCTION void tile_product(std::int64_t k, const float* a, const float* b, float (&acc)[kMr][kNr]) {
  BEAMFLOW_UNROLL
  for (std::int64_t i = 0; i < kMr; ++i)
    BEAMFLOW_UNROLL
    for (std::int64_t j = 0; j < kNr; ++j) acc[i][j] = 0.0f;
  for (std::int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * kNr;
    const float* ap = a + p * kMr;
    BEAMFLOW_UNROLL
    for (std::int64_t i = 0; i < kMr; ++i) {
      const float ai = ap[i];
      for (std::int64_t j = 0; j < kNr; ++j) acc[i][j] += ai * bp[j];
    }
  }
}

// Row blocks of kMr covering m rows.
KOKKOS_INLINE_FUNCTION std::int64_t row_blocks(std::int64_t m) { return (m + kMr - 1) / kMr; }
// Column panels of kNr covering n columns.
KOKKOS_INLINE_FUNCTION std::int64_t column_panels(std::int64_t n) { return (n + kNr - 1) / kNr; }

// The team-private panel buffer of the tiled kernels (scratch level 1: on
// host backends plain memory, on GPUs global rather than the small shared
// memory).
using ScratchPanel = Kokkos::View<float*, ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using TeamMember = TeamPolicy::member_type;

// A window normalised to three spatial axes (missing leading axes have
// extent 1), as kernels capture it by value.
struct Window3 {
  std::int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
};
Window3 window3(const Window& w, const Dims& in_spatial, const Dims& out_spatial);
// Throws kernels.shape unless x is [N][C] and min_rank - 2 to 3 spatial axes.
void check_spatial(const char* where, const Dims& x, std::size_t min_rank);

}  // namespace beamflow::kernels::nn::detail
