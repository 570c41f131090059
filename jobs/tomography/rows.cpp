#include "jobs/tomography/rows.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {

std::int64_t RowFootprint::bytes() const noexcept {
  constexpr std::int64_t f = sizeof(float);
  const std::int64_t sinogram = angles * columns * f;
  // projections + sinogram + padded complex filter workspace
  const std::int64_t in_flight = sinogram * (2 + 2 * pad);
  const std::int64_t slice = columns * columns * f;
  const std::int64_t pipelined = pipeline_depth * (sinogram + fields * columns * f + slice);
  return in_flight + fields * columns * f + 2 * slice + pipelined;
}

std::int64_t chunk_rows_for_budget(const RowFootprint& row, std::int64_t budget_bytes) {
  const std::int64_t per_row = std::max<std::int64_t>(1, row.bytes());
  return std::max<std::int64_t>(1, budget_bytes / per_row);
}

std::int64_t chunk_rows_within_budget(const RowFootprint& row, std::int64_t fixed_bytes, std::int64_t group,
                                      std::int64_t budget_bytes, std::int64_t wanted) {
  const std::int64_t per_row = std::max<std::int64_t>(1, row.bytes());
  group = std::max<std::int64_t>(1, group);
  // Saturating: a huge shape must give this error, not overflow.
  auto need = [&](std::int64_t rows) -> double { return double(fixed_bytes) + double(rows) * double(per_row); };
  const std::int64_t minimum = wanted > 0 ? wanted : group;
  if (need(minimum) > double(budget_bytes)) {
    const auto mib = [](double bytes) { return std::to_string(static_cast<long long>(std::ceil(bytes / (1 << 20)))); };
    throw Error("tomo.memory.budget", tomo_asl::Usage,
                std::string(wanted > 0 ? "--chunk-rows " + std::to_string(wanted) : "one chunk of " + std::to_string(group) +
                                                                                         (group == 1 ? " row" : " rows")) +
                    " needs " + mib(need(minimum)) + " MiB (" + mib(double(fixed_bytes)) + " MiB kernel workspace + " +
                    mib(double(per_row)) + " MiB per row), over --memory-budget-mib " + mib(double(budget_bytes)) +
                    "; raise the budget" + (wanted > 0 ? ", lower --chunk-rows" : "") + " or reconstruct fewer columns",
                {{"budget_mib", mib(double(budget_bytes))}, {"needed_mib", mib(need(minimum))}});
  }
  if (wanted > 0) return wanted;
  const std::int64_t rows = (budget_bytes - fixed_bytes) / per_row;
  return std::max<std::int64_t>(group, rows / group * group);
}

std::int64_t pipelined_chunk_rows(std::int64_t budget_rows, std::int64_t share) {
  return std::max<std::int64_t>(1, std::min(budget_rows, (share + kPipelineRounds - 1) / kPipelineRounds));
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

parallel::RowRange RowSpec::resolve(std::int64_t total, const std::string& file, const std::string& dataset) const {
  const parallel::RowRange range{begin.value_or(0), end.value_or(total)};
  if (range.begin >= range.end || range.end > total)
    throw input_error("tomo.rows.out_of_range",
                      "rows " + to_string() + " are not a non-empty range within the " +
                          std::to_string(total) + " detector rows",
                      {{"file", file}, {"dataset", dataset}});
  return range;
}
}  // namespace beamflow::jobs
