#pragma once
// The --center option of a reconstruction, and turning it into one rotation
// centre per slice. Centres are detector columns, 0-based, pixel centres at
// integers: the middle of W columns is (W-1)/2.
//
//   auto          search (Vo) on the middle row of the range
//   auto:K        search on K rows spread over the range, then a
//                 least-squares line through them (tilted axis)
//   VALUE         one centre for every slice ("1023.5")
//   C0,C1,...     one centre per slice, in slice order
//   fit:R=C,R=C   a line through (row, centre) points measured by hand
//   FILE          a file holding one number (VALUE), several (one per
//                 slice), a JSON array (one per slice), or the JSON that
//                 `beamflow find-center` prints (its centre, or its line)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "parallel/decomposition.hpp"

namespace beamflow::jobs {

// centre(row) = intercept + slope * row, row in detector rows.
struct LinearFit {
  double intercept = 0;
  double slope = 0;
  double at(double row) const noexcept { return intercept + slope * row; }
};
// Weighted least squares; one point (or all at one row) gives a constant.
// Throws tomo.usage.center when there are no points or no positive weight.
LinearFit fit_line(const std::vector<double>& rows, const std::vector<double>& centers,
                   const std::vector<double>& weights = {});

struct CenterSpec {
  enum class Kind { Auto, Value, PerSlice, Fit };
  Kind kind = Kind::Auto;
  int samples = 1;                // Auto
  double value = 0;               // Value
  std::vector<double> per_slice;  // PerSlice
  LinearFit line;                 // Fit
  std::string source;             // the option as given, for messages

  // Throws tomo.usage.center on bad syntax or an unreadable file.
  static CenterSpec parse(const std::string& text);
  static CenterSpec from_json(const Json& j, const std::string& source);
  bool is_auto() const noexcept { return kind == Kind::Auto; }

  // One centre per slice of `rows` (not for Auto). Throws tomo.usage.center
  // when a per-slice list has the wrong length.
  std::vector<double> resolve(parallel::RowRange rows) const;
};

// Throws tomo.center.out_of_range (file=, dataset=) unless every centre lies
// on the detector, 0 <= c <= columns-1.
void check_centers(const std::vector<double>& centers, std::int64_t columns, parallel::RowRange rows,
                   const std::string& file, const std::string& dataset);

}  // namespace beamflow::jobs
