#pragma once
// The reconstruction output: an HDF5 file with
//   /exchange/data  slice x row x column float32, attenuation per pixel
//   /exchange/done  one uint8 per slice, 1 once that slice is on disk
// and, on /exchange/data, attributes recording how it was made (algorithm,
// filter, centre per slice, input file and its digest, version, ...).
//
// Checkpointing: the file is created whole (datasets contiguous and
// allocated, attributes written) and renamed into place, so a file at the
// output path always has complete metadata. After that only raw data
// change, and not through HDF5: each rank writes its own slices with one
// pwrite at the dataset's raw-data offset (io::h5::raw_data_offset), then
// their done flags with another, so a killed run leaves an openable file
// whose done flags never claim a slice that is not in it. No rank waits for
// another and no data pass through MPI-IO's collective buffering. A rerun
// with the same header computes only the slices whose flag is 0 and ends
// with the file an uninterrupted run writes. (A returned pwrite survives
// the process being killed, not the node losing power; the complete volume
// is fsynced when the driver publishes it under its final name. Each
// commit also asks a helper thread for an fdatasync of what is written so
// far, fs::SyncBehind, so that fsync finds little left to flush.)
//
// The slices bypass the page cache (O_DIRECT) where the filesystem allows
// it and the write is aligned to kDirectAlignment in the file and in memory
// (the dataset starts aligned; a slice of W x W floats is a multiple when W
// is a multiple of 32; aligned_slab() gives aligned memory): copying a
// volume into freshly allocated page-cache pages cost more CPU than the
// kernel on the 2-core VM (bench/RESULTS.md). Other writes are buffered.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "parallel/decomposition.hpp"
#include "io/hdf5.hpp"
#include "platform/output_file.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::jobs {

inline constexpr const char* kVolumeDataset = "/exchange/data";
inline constexpr const char* kDoneDataset = "/exchange/done";

// Everything that determines the values of a reconstruction. Two runs with
// equal headers write equal volumes, so a run may resume the other's file.
struct VolumeHeader {
  std::int64_t slices = 0;
  std::int64_t width = 0;  // each slice is width x width
  parallel::RowRange rows;           // the input rows reconstructed (slice i = row rows.begin + i)
  std::string algorithm;
  std::string filter;
  std::int64_t pad = 0;
  std::vector<double> centers;  // one per slice, detector columns
  std::string input_file;
  // Self-describing (input_checksum.hpp): "xxh128:..." or "sha256:...".
  // Written as input_digest, and as the bare hex input_sha256 too when it
  // is a SHA-256, which is all an older beamflow's volume records (read
  // back here as "sha256:<hex>").
  std::string input_digest;
  std::string input_dataset;
  Json parameters = Json::object();  // every other setting (preprocessing, layout)
  std::string version = BEAMFLOW_VERSION;

  // The first difference, described for a person ("algorithm: fbp vs
  // gridrec"); empty when the headers are equal.
  std::string difference(const VolumeHeader& other) const;
};

inline constexpr std::size_t kDirectAlignment = 4096;

// Host memory for `count` floats, aligned to kDirectAlignment (freed with std::free).
struct AlignedFloats {
  std::unique_ptr<float, void (*)(void*)> values{nullptr, &std::free};
  std::size_t capacity = 0;  // floats
  float* data() const noexcept { return values.get(); }
};
AlignedFloats aligned_floats(std::size_t count);

class VolumeFile {
 public:
  // Creates `path` with `header` on the calling rank alone (serial driver),
  // writing it under a temporary name and renaming it into place.
  // `fft_plans` (FFTW wisdom) is kept beside the header: not a setting, but
  // what lets a resumed run transform with the same plans (recon_job.cpp).
  static void create(const std::filesystem::path& path, const VolumeHeader& header,
                     const std::string& fft_plans = {});
  // The FFT plans recorded at creation; empty when the file has none.
  static std::string read_fft_plans(const std::filesystem::path& path);
  // The header of an existing output; throws tomo.output.exists when the file
  // is not a readable beamflow volume.
  static VolumeHeader read_header(const std::filesystem::path& path);

  // Opens an existing output for writing its slices. Any number of
  // processes may hold it open at once, each committing other slices.
  explicit VolumeFile(const std::filesystem::path& path);
  // Every slice's done flag, as the file has them now (another process's
  // commit shows once it has returned).
  std::vector<std::uint8_t> done() const;
  // Writes slices [range) (nothing when empty) from `data` (slice x width x
  // width), then sets their done flags. Not collective.
  void commit(parallel::RowRange range, const float* data);
  // Closes the file, raising what a failing close reports.
  void close();

 private:
  void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset, const char* dataset) const;
  // Writes through m_direct when it can; false (nothing written) when not.
  bool write_direct(const void* data, std::size_t size, std::uint64_t offset);
  std::filesystem::path m_path;
  std::int64_t m_slices = 0;
  std::int64_t m_width = 0;
  std::uint64_t m_data_offset = 0, m_done_offset = 0;
  fs::detail::UniqueFd m_fd, m_direct;  // m_direct: O_DIRECT, closed when not supported
  std::optional<fs::SyncBehind> m_sync;  // of m_fd; after it, so that it stops first
};

// Where an output is built until every slice is done: OUTPUT.partial, in
// the same directory (the checkpoint that a rerun resumes); renamed to
// OUTPUT on completion, so an incomplete volume never has the final name.
std::filesystem::path partial_output_path(const std::filesystem::path& output);

// Throws tomo.output.unwritable (file=) when the directory `path` would be
// written in does not exist or is not a directory.
void check_output_directory(const std::filesystem::path& path);

// Slices [range) of a volume file (slice x height x width), for previews
// and comparisons. Throws tomo.preview.* / tomo.output.* errors.
struct VolumeSlab {
  std::int64_t slices = 0, height = 0, width = 0;
  std::vector<float> values;
};
// slices x height x width of a volume dataset.
std::array<std::int64_t, 3> volume_shape(const std::filesystem::path& path,
                                         const std::string& dataset = kVolumeDataset);
VolumeSlab read_volume(const std::filesystem::path& path, std::optional<parallel::RowRange> range = std::nullopt,
                       const std::string& dataset = kVolumeDataset);

}  // namespace beamflow::jobs
