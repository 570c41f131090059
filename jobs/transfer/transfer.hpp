#pragma once
// The verified transfer, on every rank of a communicator (parallel::Comm:
// MPI_COMM_WORLD under a launcher, a serial Comm for one process without MPI:
// the flow action, and tests that fork and SIGKILL a transfer):
//
//   resolve endpoints  -> the source must allow reading, the destination writing
//   scan (rank 0)      -> walk, filter, decide per file (plan.hpp), create folders
//   assign             -> each file to one rank, largest first (plan.hpp)
//   copy / compare     -> each rank its files, in chunks (copier.hpp)
//   agree              -> any rank's error fails every rank with that error
//   gather (rank 0)    -> delete destination extras, record result.json
//
// State (manifest.hpp) lives in `state_dir`. Running the same request again
// with the same state folder is a retry: files already complete are
// compared by checksum whatever the sync level, a half-copied file resumes
// from its verified chunks. Running it again after it succeeded returns the
// recorded summary (a submission id names one transfer, as in Globus).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "jobs/transfer/copier.hpp"
#include "jobs/transfer/endpoints.hpp"
#include "jobs/transfer/request.hpp"
#include "parallel/comm.hpp"

namespace beamflow::transfer {

struct Progress {
  std::uint64_t files_done = 0, files_total = 0;  // this rank's
  std::uint64_t bytes_done = 0, bytes_total = 0;
  double seconds = 0;
};

struct TransferOptions {
  std::filesystem::path state_dir;
  // Called on every rank after each of its files, one call at a time (from
  // either of the rank's two copy lanes' threads).
  std::function<void(const Progress&)> progress;
  // For tests: CopyOptions::at. Called from both lanes' threads, maybe at once.
  std::function<void(std::string_view point, const std::string& path)> at;
};

struct TransferSummary {
  Json document;  // rank 0: the full summary; other ranks: {"rank": r}
  bool replayed = false;  // the submission had already succeeded: its recorded summary
};

TransferSummary run_transfer(const TransferRequest& request, const Endpoints& endpoints, const parallel::Comm& comm,
                             const TransferOptions& options);

// Reads and parses a request file: transfer.request.unreadable, then
// parse_request's errors.
TransferRequest load_request(const std::filesystem::path& file);
// $BEAMFLOW_HOME/transfers/<submission id> ($BEAMFLOW_HOME defaults to ./.beamflow).
std::filesystem::path default_state_dir(const TransferRequest& request);

}  // namespace beamflow::transfer
