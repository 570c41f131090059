#include "jobs/tomography/center_job.hpp"

#include <Kokkos_Core.hpp>
#include <chrono>
#include <cmath>
#include <numbers>

#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/kernel_errors.hpp"

namespace beamflow::jobs {

CenterMethod center_method_from_name(const std::string& name) {
  if (name == "vo") return CenterMethod::Vo;
  if (name == "pc") return CenterMethod::Pc;
  throw usage_error("method", "centre method '" + name + "' is neither vo nor pc");
}

const char* center_method_name(CenterMethod method) noexcept {
  return method == CenterMethod::Vo ? "vo" : "pc";
}

Json CenterResult::to_json() const {
  return {{"center", center},
          {"confidence", confidence},
          {"method", method},
          {"rows", {rows.begin, rows.end}},
          {"sampled_rows", sampled_rows},
          {"centers", centers},
          {"confidences", confidences},
          {"fit", fit ? Json{{"intercept", fit->intercept}, {"slope", fit->slope}} : Json(nullptr)},
          {"seconds", seconds}};
}

std::vector<double> CenterResult::per_row(parallel::RowRange range) const {
  std::vector<double> out(static_cast<std::size_t>(range.size()), center);
  if (fit)
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = fit->at(double(range.begin) + double(i));
  return out;
}

namespace {

double middle_row(parallel::RowRange rows) { return (double(rows.begin) + double(rows.end - 1)) / 2; }

std::vector<std::int64_t> sample_rows(parallel::RowRange rows, int samples) {
  const std::int64_t k = std::min<std::int64_t>(samples, rows.size());
  if (k == 1) return {rows.begin + (rows.size() - 1) / 2};
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < k; ++i) out.push_back(rows.begin + (2 * i + 1) * rows.size() / (2 * k));
  return out;
}

void search_vo(SinogramPipeline& pipeline, const CenterSearch& search, const parallel::Comm& comm,
               CenterResult& result) {
  result.sampled_rows = sample_rows(result.rows, search.samples);
  const std::size_t k = result.sampled_rows.size();
  result.centers.assign(k, 0.0);
  result.confidences.assign(k, 0.0);
  // The default radius (32) would not fit a narrow detector; search it all.
  kernels::VoParams vo = search.vo;
  vo.search_radius = std::min(vo.search_radius, std::floor(double(pipeline.input().shape().columns) / 2));
  comm.agree([&] {
    for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < k; i += std::size_t(comm.size())) {
      const std::int64_t row = result.sampled_rows[i];
      const kernels::Sinograms sino = pipeline.load({row, row + 1});
      kernels::Image2D one("beamflow::jobs::vo_sinogram", sino.extent(1), sino.extent(2));
      Kokkos::deep_copy(one, Kokkos::subview(sino, 0, Kokkos::ALL, Kokkos::ALL));
      const kernels::CenterEstimate e =
          with_kernel_errors([&] { return kernels::find_center_vo(one, pipeline.angles(), vo); },
                             pipeline.input().path().string(),
                             {{"dataset", pipeline.input().layout().data}, {"rows", std::to_string(row)}});
      result.centers[i] = e.center;
      result.confidences[i] = e.confidence;
    }
  });
  comm.sum_in_place(result.centers);
  comm.sum_in_place(result.confidences);
  double total = 0;
  for (double c : result.confidences) total += c;
  result.confidence = total / double(k);
  if (k == 1) {
    result.center = result.centers[0];
    return;
  }
  std::vector<double> rows(result.sampled_rows.begin(), result.sampled_rows.end());
  // Confidence-weighted, unless no row is trusted at all.
  result.fit = fit_line(rows, result.centers, total > 0 ? result.confidences : std::vector<double>{});
  result.center = result.fit->at(middle_row(result.rows));
}

// The angle indices nearest 0 and 180 degrees; nullopt when no pair lies
// within half an angular step of 180 degrees apart.
std::optional<std::pair<std::int64_t, std::int64_t>> opposite_pair(const std::vector<double>& theta) {
  const std::size_t n = theta.size();
  std::size_t first = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (std::abs(theta[i]) < std::abs(theta[first])) first = i;
  const double step = n > 1 ? std::abs(theta[n - 1] - theta[0]) / double(n - 1) : 0.0;
  std::size_t best = first;
  for (std::size_t i = 0; i < n; ++i)
    if (std::abs(std::abs(theta[i] - theta[first]) - std::numbers::pi) <
        std::abs(std::abs(theta[best] - theta[first]) - std::numbers::pi))
      best = i;
  if (std::abs(std::abs(theta[best] - theta[first]) - std::numbers::pi) > step / 2 + 1e-9)
    return std::nullopt;
  return std::make_pair(std::int64_t(first), std::int64_t(best));
}

void search_pc(SinogramPipeline& pipeline, const CenterSearch& search, const parallel::Comm& comm,
               CenterResult& result) {
  const DxInput& in = pipeline.input();
  std::string answer;
  comm.agree([&] {
    if (!comm.is_root()) return;
    const auto pair = opposite_pair(in.theta_radians());
    if (!pair)
      throw Error("tomo.center.no_opposite", tomo_asl::Center,
                  "phase correlation needs projections 180 degrees apart; these angles do not "
                  "span half a turn",
                  {{"file", in.path().string()}, {"dataset", in.layout().theta}});
    const kernels::Image2D p0 = pipeline.load_projection(pair->first, result.rows);
    const kernels::Image2D p180 = pipeline.load_projection(pair->second, result.rows);
    const kernels::CenterEstimate e =
        with_kernel_errors([&] { return kernels::find_center_pc(p0, p180, search.pc); }, in.path().string(),
                           {{"dataset", in.layout().data}});
    answer = Json{e.center, e.confidence}.dump();
  });
  const Json e = Json::parse(comm.broadcast(answer));
  result.center = e[0].get<double>();
  result.confidence = e[1].get<double>();
}

}  // namespace

CenterResult find_center(SinogramPipeline& pipeline, parallel::RowRange rows, const CenterSearch& search,
                         const parallel::Comm& comm) {
  const auto start = std::chrono::steady_clock::now();
  CenterResult result;
  result.method = center_method_name(search.method);
  result.rows = rows;
  if (search.method == CenterMethod::Vo)
    search_vo(pipeline, search, comm, result);
  else
    search_pc(pipeline, search, comm, result);
  const DxInput& in = pipeline.input();
  check_centers({result.center}, in.shape().columns, {rows.begin + (rows.size() - 1) / 2, rows.end},
                in.path().string(), in.layout().data);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

CenterResult find_center(const FindCenterOptions& options, const parallel::Comm& comm) {
  std::optional<DxInput> input;
  // Each rank opens the input on its own, without MPI-IO, as recon does:
  // Vo's rows are independent hyperslab reads of a rank's own rows and
  // phase correlation reads on rank 0 alone.
  comm.agree([&] { input.emplace(options.input, options.layout, std::nullopt); });
  parallel::RowRange rows{0, input->shape().rows};
  if (options.rows)
    rows = options.rows->resolve(input->shape().rows, options.input.string(), options.layout.data);
  SinogramPipeline pipeline(*input, options.preprocess);
  return find_center(pipeline, rows, options.search, comm);
}

}  // namespace beamflow::jobs
