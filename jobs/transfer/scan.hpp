#pragma once
// The scan, on rank 0 before anything is written: walks the request's
// items beneath the source root (symlinks that lead out are an error before
// a byte is copied), applies the filter rules, looks at each destination and
// decides (plan.hpp) what happens to every file.
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/transfer/beneath.hpp"
#include "jobs/transfer/plan.hpp"
#include "jobs/transfer/request.hpp"

namespace beamflow::transfer {

struct Plan {
  std::vector<PlannedFile> files;
  std::vector<std::string> directories;  // destination folders, parents first
  // Source entries left out: symlinks to folders (not followed), sockets,
  // fifos, devices. {path, reason}.
  std::vector<std::pair<std::string, std::string>> ignored;
  // With delete_destination_extra: destination entries with no source
  // counterpart (filtered-out names are kept, as rsync does). {path, is_dir}.
  std::vector<std::pair<std::string, bool>> extras;

  Json to_json() const;
  static Plan from_json(const Json& j);
};

// Throws transfer.source.* / transfer.path.escapes / transfer.destination.*.
Plan scan(const TransferRequest& request, const Root& source, const Root& destination, bool retry);

}  // namespace beamflow::transfer
