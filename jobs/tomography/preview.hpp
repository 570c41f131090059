#pragma once
// `beamflow preview` and the `preview` action: PNG images of chosen slices
// of a reconstructed volume, auto-contrasted (see png.hpp).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "io/png.hpp"

namespace beamflow::jobs {

struct PreviewOptions {
  std::filesystem::path volume;
  std::string dataset = "/exchange/data";
  // Slices to draw; empty: the middle slice.
  std::vector<std::int64_t> slices;
  // One slice: written to `output`. Several: OUTPUT_STEM_sNNNN.png beside it.
  std::filesystem::path output;
  double low_percentile = 1;
  double high_percentile = 99;
  // Replace existing files (platform/output_file.hpp). Without it an existing
  // file is refused, except a preview beamflow drew earlier of this same
  // volume path (so a resumed or retried reconstruction redraws its own).
  bool overwrite = false;
};

struct PreviewResult {
  std::vector<std::filesystem::path> files;
  std::vector<std::int64_t> slices;
  std::vector<io::Window> windows;
  Json to_json() const;
};

// Throws tomo.usage.slice for a slice outside the volume, tomo.usage.percentile
// for a window that is not 0 <= low < high <= 100, fs.output.* for an output
// that the one output rule refuses (checked for every file before any is
// written; each is written under a temporary name and renamed), and the
// errors of read_volume and io::write_png.
PreviewResult write_previews(const PreviewOptions& options);
// The one output rule for the files write_previews would draw (those of
// options.slices, or `count` slices when it is empty): throws fs.output.*
// when one is refused. `inputs`: further files no preview may be (the
// volume always is one).
void check_previews(const PreviewOptions& options, std::size_t count,
                    const std::vector<std::filesystem::path>& inputs = {});

// Where the preview of `slice` goes when `count` slices are drawn.
std::filesystem::path preview_path(const std::filesystem::path& output, std::int64_t slice,
                                   std::size_t count);

}  // namespace beamflow::jobs
