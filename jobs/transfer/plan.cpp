#include "jobs/transfer/plan.hpp"

#include <algorithm>
#include <numeric>

#include "jobs/transfer/errors.hpp"

namespace beamflow::transfer {

const char* to_string(Decision d) noexcept {
  switch (d) {
    case Decision::Copy: return "copy";
    case Decision::Skip: return "skip";
    case Decision::Compare: return "compare";
  }
  return "?";
}

Json PlannedFile::to_json() const {
  return Json{{"s", source},          {"d", destination},      {"size", identity.size},
              {"mt", identity.mtime_ns}, {"ino", identity.inode}, {"mode", mode},
              {"at", atime_ns},       {"dec", static_cast<int>(decision)}, {"why", reason},
              {"rank", rank}};
}

PlannedFile PlannedFile::from_json(const Json& j) {
  PlannedFile f;
  f.source = j.at("s").get<std::string>();
  f.destination = j.at("d").get<std::string>();
  f.identity = {j.at("size").get<std::uint64_t>(), j.at("mt").get<std::int64_t>(), j.at("ino").get<std::uint64_t>()};
  f.mode = j.at("mode").get<std::uint32_t>();
  f.atime_ns = j.at("at").get<std::int64_t>();
  f.decision = static_cast<Decision>(j.at("dec").get<int>());
  f.reason = j.at("why").get<std::string>();
  f.rank = j.at("rank").get<int>();
  return f;
}

Decided decide(const PlannedFile& file, const DestInfo& dest, const std::optional<SyncLevel>& level, bool retry) {
  if (!dest.exists) return {Decision::Copy, "missing at the destination"};
  if (dest.is_dir)
    throw Error("transfer.destination.conflict", asl::Destination,
                "a folder stands where the file would go", {{"path", file.destination}});
  if (retry) return {Decision::Compare, "retry: compared by checksum"};
  if (!level) return {Decision::Copy, "no sync_level: overwritten"};
  const bool same_size = dest.size == file.identity.size;
  constexpr std::int64_t second = 1'000'000'000;
  switch (*level) {
    case SyncLevel::Exists: return {Decision::Skip, "exists"};
    case SyncLevel::Size:
      if (same_size) return {Decision::Skip, "same size"};
      return {Decision::Copy, "size differs"};
    case SyncLevel::Mtime: {
      const bool older = dest.mtime_ns / second < file.identity.mtime_ns / second;
      if (same_size && !older) return {Decision::Skip, "same size, not older"};
      return {Decision::Copy, same_size ? "destination older" : "size differs"};
    }
    case SyncLevel::Checksum: return {Decision::Compare, "sync_level checksum"};
  }
  return {Decision::Copy, ""};
}

void assign_ranks(std::vector<PlannedFile>& files, int ranks) {
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return files[a].identity.size > files[b].identity.size;
  });
  std::vector<std::uint64_t> load(static_cast<std::size_t>(std::max(ranks, 1)), 0);
  for (std::size_t i : order) {
    if (files[i].decision == Decision::Skip) {
      files[i].rank = 0;
      continue;
    }
    const auto least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    files[i].rank = least;
    // A file costs at least a block's worth of system calls, however small.
    load[static_cast<std::size_t>(least)] += std::max<std::uint64_t>(files[i].identity.size, 64 * 1024);
  }
}

}  // namespace beamflow::transfer
