#pragma once
// `beamflow recon` and the `reconstruct` action: the tomography driver.
//
//   partition   the pending slices (done flag 0) cut into chunks of at most
//               chunk_rows whole row groups: one list, in row order, that
//               every rank computes alike
//   claim       a rank takes the list's next chunk when it is free to read
//               one (parallel::SharedCounter, a fetch-and-add on rank 0's
//               window): no rank waits for another between chunks, and a
//               rank on a slower core simply takes fewer of them
//   read slab   the rank reads its chunk's rows (HDF5 hyperslabs, each
//               rank its own read-only handle, no MPI-IO)
//   preprocess  into sinograms on the device (sinogram_pipeline)
//   kernel      FBP or gridrec on the device
//   write slab  the rank writes its chunk's slices, then their done flags
//               (volume_file's checkpoint protocol: a pwrite each, no
//               collective I/O, no rank waiting for another's write)
//   agree       once the list is used up, the ranks agree that all of
//               their chunks succeeded. A rank that fails stops the
//               counter, so every rank's next claim finds nothing; each
//               finishes the chunks it holds and the agreement throws the
//               failure on every rank. Any rank count works, including
//               more ranks than chunks (a rank may claim none).
//
// Pipelined (pipeline_depth 1, the default): while a compute thread
// preprocesses and reconstructs a rank's chunk k+1, the main thread writes
// its chunk k and claims and reads the next one. Every HDF5, MPI and file call stays on the main
// thread (HDF5 is not built thread-safe; MPI is initialised FUNNELED); the
// compute thread only runs device kernels and FFTs. The memory budget counts the chunk read
// ahead and the chunk being written (RowFootprint::pipeline_depth).
// pipeline_depth 0 runs the steps one after the other; both write the
// same bits.
//
// Restarted with the same options after being killed, a run finds the
// output's done flags, computes only the missing slices, and ends with the
// file an uninterrupted run writes. An output made with other settings (or
// another input) is refused unless `overwrite` is set.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/tomography/center_job.hpp"
#include "parallel/comm.hpp"
#include "jobs/tomography/dxchange.hpp"
#include "jobs/tomography/input_checksum.hpp"
#include "jobs/tomography/sinogram_pipeline.hpp"

namespace beamflow::jobs {

struct ReconOptions {
  std::filesystem::path input;
  std::filesystem::path output;
  DxLayout layout;
  std::string algorithm = "gridrec";  // or "fbp"
  std::string filter = "shepp";       // kernels/filters.hpp names
  int pad = 2;
  CenterSpec center;            // default: auto (Vo on the middle row)
  CenterSearch center_search;   // for auto
  std::optional<RowSpec> rows;  // default: all rows
  std::int64_t chunk_rows = 0;  // 0: from memory_budget_mib
  std::int64_t memory_budget_mib = kDefaultMemoryBudgetMiB;
  int pipeline_depth = 1;  // 0: read, compute and write one after the other
  PreprocessOptions preprocess;
  bool overwrite = false;
  std::string backend;  // "" or the default Kokkos backend
  // PNG previews of these slices (0-based in the output; empty: the middle).
  std::optional<std::filesystem::path> preview;
  std::vector<std::int64_t> preview_slices;
  // How the output identifies its input (input_checksum.hpp). Unset: an
  // existing output is compared by the kind it records (an older volume's
  // SHA-256 included), a new one records xxh128. Set: the output must
  // record this kind; one recording another is refused like other settings.
  std::optional<DigestKind> input_digest;
  // The input's digest when the caller started hashing it early (rank 0,
  // of `input`); else rank 0 hashes the input when it needs the digest.
  std::shared_ptr<InputChecksum> input_checksum;
  // Logged by rank 0: progress lines for people.
  std::function<void(const std::string&)> log;
};

struct ReconSummary {
  std::filesystem::path output;
  parallel::RowRange rows;
  std::int64_t slices = 0;
  std::int64_t computed = 0;      // slices computed by this run
  std::int64_t already_done = 0;  // found done in an existing output
  std::int64_t chunk_rows = 0;
  std::int64_t rounds = 0;  // chunks in the list the ranks claim from (all ranks together)
  int pipeline_depth = 0;
  int ranks = 1;
  std::string algorithm, filter;
  std::vector<double> centers;
  std::optional<CenterResult> center_search;
  std::string input_digest;  // as the output records it
  // Seconds, the slowest rank's. read: HDF5 reads; preprocess: to
  // sinograms; kernel: reconstruction and the copy to the host; write:
  // writing slices and flags; wait: the main thread waiting for the
  // compute thread (pipelined: what reading and writing did not hide).
  double seconds = 0, read_seconds = 0, preprocess_seconds = 0, kernel_seconds = 0, write_seconds = 0,
         wait_seconds = 0;
  std::vector<std::filesystem::path> previews;
  Json to_json() const;
};

// Collective over `comm`; every rank returns the same summary.
ReconSummary reconstruct(const ReconOptions& options, const parallel::Comm& comm);

// Environment hook for checkpoint tests: with BEAMFLOW_TEST_KILL_AFTER_CHUNKS=N
// only the first N chunks of the run's list are claimed; once they are
// committed (whichever ranks took them) every rank kills itself (SIGKILL).
inline constexpr const char* kKillAfterChunksEnv = "BEAMFLOW_TEST_KILL_AFTER_CHUNKS";
// Environment hook for the dynamic assignment's tests: with
// BEAMFLOW_TEST_SLOW_RANK=R:MS rank R sleeps MS milliseconds after each of
// its chunks' kernels (a rank on a slower core).
inline constexpr const char* kSlowRankEnv = "BEAMFLOW_TEST_SLOW_RANK";

}  // namespace beamflow::jobs
