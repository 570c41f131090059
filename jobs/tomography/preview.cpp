#include "jobs/tomography/preview.hpp"

#include <cstdio>

#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs {

std::filesystem::path preview_path(const std::filesystem::path& output, std::int64_t slice,
                                   std::size_t count) {
  if (count <= 1) return output;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "_s%04lld", static_cast<long long>(slice));
  const std::string extension = output.has_extension() ? output.extension().string() : ".png";
  return output.parent_path() / (output.stem().string() + suffix + extension);
}

Json PreviewResult::to_json() const {
  Json out{{"files", Json::array()}, {"slices", slices}, {"windows", Json::array()}};
  for (const auto& f : files) out["files"].push_back(f.string());
  for (const auto& w : windows) out["windows"].push_back({w.low, w.high});
  return out;
}

PreviewResult write_previews(const PreviewOptions& options) {
  if (!(options.low_percentile >= 0 && options.low_percentile < options.high_percentile &&
        options.high_percentile <= 100))
    throw usage_error("percentile", "the preview window wants 0 <= low < high <= 100 percentiles");
  std::vector<std::int64_t> slices = options.slices;
  if (slices.empty()) slices.push_back(volume_shape(options.volume, options.dataset)[0] / 2);
  PreviewResult result;
  for (std::int64_t slice : slices) {
    const VolumeSlab slab = read_volume(options.volume, parallel::RowRange{slice, slice + 1}, options.dataset);
    const int w = static_cast<int>(slab.width), h = static_cast<int>(slab.height);
    const io::Window window =
        io::percentile_window(slab.values, w, h, options.low_percentile, options.high_percentile);
    const auto path = preview_path(options.output, slice, slices.size());
    io::write_png(path, io::to_gray8(slab.values, w, h, window));
    result.files.push_back(path);
    result.slices.push_back(slice);
    result.windows.push_back(window);
  }
  return result;
}

}  // namespace beamflow::jobs
