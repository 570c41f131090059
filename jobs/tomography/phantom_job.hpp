#pragma once
// `beamflow phantom`: a Data Exchange file of a 3-D Shepp-Logan phantom as
// a detector would record it (flats, darks, Poisson noise, a chosen axis
// offset), and the truth beside it, for tests, benchmarks and the demo.
//
//   OUTPUT             /exchange/{data,data_white,data_dark,theta}
//   OUTPUT.truth.h5    /exchange/data: the true volume, rows x size x size,
//                      attenuation per pixel on the reconstruction grid
//   OUTPUT.truth.json  true centre, sizes, photons, seed, the files above
//
// The projections are exact line integrals through the ellipsoids (no
// "inverse crime": the projector is not the reconstruction's adjoint). The
// phantom is drawn on a grid of size - 2 ceil(|offset|) pixels centred on the
// axis, so it stays inside the reconstruction's field of view at every angle
// whatever the offset. Its z axis spans [-1, 1] over the rows, as TomoPy's
// does, so the first and last rows may be empty.
#include <cstdint>
#include <filesystem>

#include "core/json.hpp"

namespace beamflow::jobs {

struct PhantomOptions {
  std::filesystem::path output;
  std::int64_t size = 256;    // detector columns = reconstruction width
  std::int64_t angles = 360;  // evenly over [0, arc) degrees
  double arc = 180;           // 180 (half turn) or up to 360 (full turn)
  std::int64_t rows = 16;     // detector rows = slices
  double center_offset = 0;   // axis at column (size-1)/2 + offset
  double photons = 1e4;       // open-beam counts per pixel; 0: noise-free
  std::int64_t flats = 10;
  std::int64_t darks = 10;
  double dark_level = 100;      // dark current, counts
  double peak_attenuation = 2;  // largest line integral through the object
  std::uint64_t seed = 1;
  bool overwrite = false;
};

struct PhantomResult {
  std::filesystem::path data, truth_volume, truth_json;
  double center = 0;
  double attenuation_scale = 0;  // Shepp-Logan value 1 = this much per pixel
  Json truth;                    // what truth_json holds
};

// Throws tomo.usage.phantom for impossible options, tomo.output.exists when
// OUTPUT exists without `overwrite`, tomo.output.unwritable when its
// directory does not exist.
PhantomResult make_phantom(const PhantomOptions& options);

// The side files' paths for a phantom written to `output`.
std::filesystem::path truth_volume_path(const std::filesystem::path& output);
std::filesystem::path truth_json_path(const std::filesystem::path& output);

}  // namespace beamflow::jobs
