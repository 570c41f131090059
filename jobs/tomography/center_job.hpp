#pragma once
// `beamflow find-center`, the `find_center` action and `recon --center auto`:
// the rotation centre of a Data Exchange file.
//
//   vo  Vo's Fourier method on the sinograms of `samples` rows spread over
//       the range (the middle row when 1); with several rows, a line is
//       fitted through them weighted by confidence (a tilted axis), and
//       the reported centre is that line at the middle row.
//   pc  phase correlation of the projections nearest 0 and 180 degrees,
//       over the rows of the range; needs an angle within half a step of
//       180 degrees (a scan over more than half a turn).
// Sampled rows are shared among the ranks; the results are summed back.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/tomography/center_spec.hpp"
#include "jobs/tomography/rows.hpp"
#include "parallel/comm.hpp"
#include "jobs/tomography/dxchange.hpp"
#include "jobs/tomography/sinogram_pipeline.hpp"
#include "kernels/tomo/center.hpp"

namespace beamflow::jobs {

enum class CenterMethod { Vo, Pc };
// "vo" or "pc"; throws tomo.usage.method.
CenterMethod center_method_from_name(const std::string& name);
const char* center_method_name(CenterMethod method) noexcept;

struct CenterSearch {
  CenterMethod method = CenterMethod::Vo;
  int samples = 1;       // vo: rows searched
  kernels::VoParams vo;  // search_radius is capped at half the width
  kernels::PcParams pc;
};

struct CenterResult {
  std::string method;
  double center = 0;      // at the middle row of the range
  double confidence = 0;  // 0..1, the kernels' measure (mean over rows for vo)
  parallel::RowRange rows;          // the range searched
  std::vector<std::int64_t> sampled_rows;
  std::vector<double> centers;      // per sampled row (vo)
  std::vector<double> confidences;  // per sampled row (vo)
  std::optional<LinearFit> fit;     // vo with several rows
  double seconds = 0;
  // {"center", "confidence", "method", "rows": [begin, end], "sampled_rows",
  //  "centers", "confidences", "fit": {"intercept","slope"} | null, "seconds"}
  Json to_json() const;
  // One centre per row of `range` (the fit where there is one).
  std::vector<double> per_row(parallel::RowRange range) const;
};

// Collective over `comm`. Throws tomo.center.out_of_range naming the file
// when the search ends outside the detector, tomo.center.no_opposite for pc
// without a 180-degree projection.
CenterResult find_center(SinogramPipeline& pipeline, parallel::RowRange rows, const CenterSearch& search,
                         const parallel::Comm& comm);

struct FindCenterOptions {
  std::filesystem::path input;
  DxLayout layout;
  std::optional<RowSpec> rows;
  CenterSearch search;
  PreprocessOptions preprocess;
};
CenterResult find_center(const FindCenterOptions& options, const parallel::Comm& comm);

}  // namespace beamflow::jobs
