#include "jobs/decomposition.hpp"

#include <algorithm>
#include <charconv>

#include "jobs/errors.hpp"

namespace beamflow::jobs {

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

std::int64_t RowFootprint::bytes() const noexcept {
  constexpr std::int64_t f = sizeof(float);
  const std::int64_t sinogram = angles * columns * f;
  // projections + sinogram + padded complex filter workspace
  const std::int64_t in_flight = sinogram * (2 + 2 * pad);
  return in_flight + fields * columns * f + 2 * columns * columns * f;
}

std::int64_t chunk_rows_for_budget(const RowFootprint& row, std::int64_t budget_bytes) {
  const std::int64_t per_row = std::max<std::int64_t>(1, row.bytes());
  return std::max<std::int64_t>(1, budget_bytes / per_row);
}

namespace {
std::optional<std::int64_t> parse_bound(std::string_view text, const std::string& whole) {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0)
    throw usage_error("rows",
                      "--rows wants A:B, A:, :B or A with non-negative integers, not '" + whole + "'");
  return value;
}
}  // namespace

RowSpec RowSpec::parse(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    auto row = parse_bound(text, text);
    if (!row) throw usage_error("rows", "--rows is empty");
    return {row, *row + 1};
  }
  const std::string_view view(text);
  return {parse_bound(view.substr(0, colon), text), parse_bound(view.substr(colon + 1), text)};
}

std::string RowSpec::to_string() const {
  return (begin ? std::to_string(*begin) : "") + ":" + (end ? std::to_string(*end) : "");
}

RowRange RowSpec::resolve(std::int64_t total, const std::string& file, const std::string& dataset) const {
  const RowRange range{begin.value_or(0), end.value_or(total)};
  if (range.begin >= range.end || range.end > total)
    throw input_error("tomo.rows.out_of_range",
                      "rows " + to_string() + " are not a non-empty range within the " +
                          std::to_string(total) + " detector rows",
                      {{"file", file}, {"dataset", dataset}});
  return range;
}

}  // namespace beamflow::jobs
