#include "jobs/tomography/preview.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

#include "platform/fs.hpp"
#include "platform/output_file.hpp"

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

namespace {

constexpr const char* kPreviewOf = "beamflow-preview-of";

std::string volume_key(const std::filesystem::path& volume) {
  return std::filesystem::absolute(volume).lexically_normal().string();
}

// A PNG beamflow drew of this volume path: its tEXt chunk says so.
bool is_own_preview(const std::filesystem::path& png, const std::string& key) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(png, ec) || std::filesystem::file_size(png, ec) > (256u << 20)) return false;
  std::ifstream in(png, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  return bytes.find(std::string(kPreviewOf) + '\0' + key) != std::string::npos;
}

}  // namespace

void check_previews(const PreviewOptions& options, std::size_t count,
                    const std::vector<std::filesystem::path>& inputs) {
  const std::string key = volume_key(options.volume);
  std::vector<std::filesystem::path> all = inputs;
  all.push_back(options.volume);
  std::vector<std::int64_t> slices = options.slices;
  if (slices.empty()) slices.assign(count, 0);
  for (std::int64_t slice : slices) {
    const auto path = preview_path(options.output, slice, slices.size());
    fs::check_output(path, {options.overwrite || is_own_preview(path, key), all}, "preview");
  }
}

PreviewResult write_previews(const PreviewOptions& options) {
  if (!(options.low_percentile >= 0 && options.low_percentile < options.high_percentile &&
        options.high_percentile <= 100))
    throw usage_error("percentile", "the preview window wants 0 <= low < high <= 100 percentiles");
  std::vector<std::int64_t> slices = options.slices;
  if (slices.empty()) slices.push_back(volume_shape(options.volume, options.dataset)[0] / 2);
  // The one output rule, for every file before any is drawn.
  const std::string key = volume_key(options.volume);
  std::vector<fs::OutputRule> rules;
  for (std::int64_t slice : slices) {
    const auto path = preview_path(options.output, slice, slices.size());
    fs::OutputRule rule{options.overwrite || is_own_preview(path, key), {options.volume}};
    fs::check_output(path, rule, "preview");
    rules.push_back(std::move(rule));
  }
  PreviewResult result;
  std::size_t index = 0;
  for (std::int64_t slice : slices) {
    const VolumeSlab slab = read_volume(options.volume, parallel::RowRange{slice, slice + 1}, options.dataset);
    const int w = static_cast<int>(slab.width), h = static_cast<int>(slab.height);
    const io::Window window =
        io::percentile_window(slab.values, w, h, options.low_percentile, options.high_percentile);
    const auto path = preview_path(options.output, slice, slices.size());
    fs::OutputFile file(path, rules[index++], "preview");
    io::Gray8Image image = io::to_gray8(slab.values, w, h, window);
    image.text.emplace_back(kPreviewOf, key);
    io::write_png(file.temporary(), image);
    file.commit();
    result.files.push_back(path);
    result.slices.push_back(slice);
    result.windows.push_back(window);
  }
  return result;
}

}  // namespace beamflow::jobs
