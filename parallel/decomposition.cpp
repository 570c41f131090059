#include "parallel/decomposition.hpp"

#include <algorithm>
#include <charconv>


namespace beamflow::parallel {

RowRange block_of(std::int64_t n, int parts, int index) {
  const std::int64_t base = n / parts;
  const std::int64_t extra = n % parts;
  const std::int64_t begin = index * base + std::min<std::int64_t>(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

std::vector<RowRange> chunks_of(RowRange range, std::int64_t chunk_rows) {
  std::vector<RowRange> out;
  for (std::int64_t b = range.begin; b < range.end; b += chunk_rows)
    out.push_back({b, std::min(range.end, b + chunk_rows)});
  return out;
}

std::int64_t whole_groups(std::int64_t chunk_rows, std::int64_t group) {
  group = std::max<std::int64_t>(1, group);
  return std::max(group, chunk_rows - chunk_rows % group);
}

std::vector<RowRange> pending_chunks(const std::vector<std::uint8_t>& done, int parts, int index,
                                     std::int64_t chunk_rows, std::int64_t group) {
  group = std::max<std::int64_t>(1, group);
  const auto slices = static_cast<std::int64_t>(done.size());
  std::vector<std::int64_t> pending;  // groups with a slice still to do
  for (std::int64_t g = 0; g * group < slices; ++g) {
    for (std::int64_t i = g * group; i < std::min(slices, (g + 1) * group); ++i) {
      if (!done[static_cast<std::size_t>(i)]) {
        pending.push_back(g);
        break;
      }
    }
  }
  const std::int64_t max_groups = whole_groups(chunk_rows, group) / group;
  const RowRange share = block_of(static_cast<std::int64_t>(pending.size()), parts, index);
  std::vector<RowRange> out;  // in groups first
  for (std::int64_t k = share.begin; k < share.end; ++k) {
    const std::int64_t g = pending[static_cast<std::size_t>(k)];
    if (!out.empty() && out.back().end == g && out.back().size() < max_groups)
      ++out.back().end;
    else
      out.push_back({g, g + 1});
  }
  for (RowRange& r : out) r = {r.begin * group, std::min(slices, r.end * group)};
  return out;
}

std::vector<RowRange> taper(std::vector<RowRange> chunks, std::int64_t group) {
  if (chunks.empty()) return chunks;
  const auto whole = [group](std::int64_t rows) { return whole_groups(rows, group); };
  // Head: the first chunk's first quarter.
  const RowRange first = chunks.front();
  const std::int64_t head = whole(first.size() / 4);
  if (head < first.size()) {
    chunks.front().end = first.begin + head;
    chunks.insert(chunks.begin() + 1, RowRange{first.begin + head, first.end});
  }
  // Tail: halves of the last chunk, from the front, while both halves keep
  // at least an eighth of it.
  RowRange rest = chunks.back();
  chunks.pop_back();
  const std::int64_t smallest = whole(rest.size() / 8);
  for (;;) {
    const std::int64_t front = whole((rest.size() + 1) / 2);
    if (front < smallest || rest.size() - front < smallest) break;
    chunks.push_back({rest.begin, rest.begin + front});
    rest.begin += front;
  }
  chunks.push_back(rest);
  return chunks;
}


}  // namespace beamflow::parallel
