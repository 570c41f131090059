#pragma once
// How rows of work (a reconstruction's slices, a model's input rows) are
// shared among ranks and cut into chunks. Pure functions: every rank computes the same answer
// from the same inputs, so no communication is needed to agree on it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace beamflow::parallel {

// Half-open range [begin, end) of detector rows (= output slices).
struct RowRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const noexcept { return end - begin; }
  bool empty() const noexcept { return end <= begin; }
  friend bool operator==(const RowRange&, const RowRange&) = default;
};

// Block `index` of `n` items split over `parts`: the first n % parts blocks
// hold one item more. Parts beyond n are empty (more ranks than rows).
RowRange block_of(std::int64_t n, int parts, int index);

// Consecutive chunks of at most `chunk_rows` covering `range`.
std::vector<RowRange> chunks_of(RowRange range, std::int64_t chunk_rows);

// The work of rank `index` of `parts` when only slices whose done flag is 0
// remain. Slices go in groups of `group` (group g = slices [g*group,
// (g+1)*group), the kernel's kernels::row_group): the groups with a pending
// slice are split evenly in order, then each rank's share is cut into runs
// of consecutive groups of at most max(group, chunk_rows) slices, rounded
// down to whole groups. Every chunk starts on a group boundary, so a
// kernel that pairs rows pairs the same ones in every run, and a resumed
// run is balanced whatever slices the interrupted one finished.
std::vector<RowRange> pending_chunks(const std::vector<std::uint8_t>& done, int parts, int index,
                                     std::int64_t chunk_rows, std::int64_t group = 1);
// The chunk size pending_chunks uses: `chunk_rows` rounded down to whole
// groups, at least one group.
std::int64_t whole_groups(std::int64_t chunk_rows, std::int64_t group);

// A rank's chunks (pending_chunks) for a pipeline that reads the next chunk
// and writes the last one while the kernel runs: only the first chunk's read
// and the last one's write overlap no kernel, so those two chunks are cut
// smaller. The first loses a head of a quarter of its rows; the last is cut
// in halves from the front down to an eighth of its rows (64 rows: 32, 16,
// 8, 8), each piece's write overlapping the next one's kernel. Pieces are
// whole groups of `group` rows (at least one group) starting on group
// boundaries, as pending_chunks' chunks do, and cover the same rows in order.
std::vector<RowRange> taper(std::vector<RowRange> chunks, std::int64_t group = 1);

}  // namespace beamflow::parallel
