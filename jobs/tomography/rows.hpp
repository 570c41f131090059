#pragma once
// Which detector rows a tomography job works on (--rows) and how many fit in
// its memory budget at once.
#include <cstdint>
#include <optional>
#include <string>

#include "parallel/decomposition.hpp"

namespace beamflow::jobs {


// Bytes one detector row costs while in flight: projections and sinogram
// copies, flat/dark fields, the kernel's padded filter workspace, and the
// reconstructed slice on device and host. A pipelined reconstruction
// (recon_job.cpp) holds `pipeline_depth` more chunks on the host besides the
// one being computed: the next one's projections and fields, read ahead,
// and the last one's slices, being written.
struct RowFootprint {
  std::int64_t angles = 0;
  std::int64_t columns = 0;
  std::int64_t fields = 0;  // flats + darks
  int pad = 2;
  int pipeline_depth = 0;
  std::int64_t bytes() const noexcept;
};
// The most rows whose footprint fits in `budget_bytes`, at least 1.
std::int64_t chunk_rows_for_budget(const RowFootprint& row, std::int64_t budget_bytes);
// The budget accounting every reconstruction follows: `fixed_bytes` (the
// kernel's workspace, kernels::workspace_bytes: the padded FFT workspace,
// gridrec's grid and its per-thread copies) plus rows x row.bytes() must fit
// in `budget_bytes`. Returns the most rows, a multiple of `group`, that fit;
// with `wanted` > 0 (an explicit --chunk-rows) checks that those fit.
// Throws tomo.memory.budget naming the MiB needed when not even one group
// (or `wanted`) fits: before anything is allocated or written.
std::int64_t chunk_rows_within_budget(const RowFootprint& row, std::int64_t fixed_bytes, std::int64_t group,
                                      std::int64_t budget_bytes, std::int64_t wanted = 0);
inline constexpr std::int64_t kDefaultMemoryBudgetMiB = 1024;

// The rows a pipelined round takes with no --chunk-rows: a rank's `share`
// in kPipelineRounds chunks (rounded up, so fewer where it does not divide),
// never more than `budget_rows`, at least 1. One chunk leaves nothing to
// overlap; and every round buffer is sized for the widest chunk, each page
// zeroed when first touched, so fewer rows a round is less fresh memory
// (bench/RESULTS.md: 8 chunks against 4 cut a run's CPU time in 16 of 18
// alternated pairs at 512, 1024 and 2048 columns, its system part by up to
// two thirds; 16 against 8, once gridrec's grid transform got cheaper, cut
// it in 12 of 16 pairs at 512 and 1024, by about 4%).
inline constexpr std::int64_t kPipelineRounds = 16;
std::int64_t pipelined_chunk_rows(std::int64_t budget_rows, std::int64_t share);

// A --rows option: "A:B" (rows A..B-1), "A:" (A to the end), ":B", or "A"
// (one row). Throws a usage error (tomo.usage.rows) on bad syntax.
struct RowSpec {
  std::optional<std::int64_t> begin, end;
  static RowSpec parse(const std::string& text);
  std::string to_string() const;
  // The range within [0, total); throws tomo.rows.out_of_range naming
  // `file` and `dataset` when it does not fit or is empty.
  parallel::RowRange resolve(std::int64_t total, const std::string& file, const std::string& dataset) const;
};

}  // namespace beamflow::jobs
