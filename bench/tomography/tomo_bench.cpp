// Tomography throughput: slices/s of gridrec and FBP for (width, angles) =
// (512, 360), (1024, 900), (2048, 1500), end to end (Data Exchange file in,
// volume file out, through jobs::reconstruct) and kernel only (sinograms in
// memory), on 1 rank and on every rank of the launch, with PSNR and SSIM
// against the phantom's truth beside each figure (jobs/tomography/quality.hpp:
// over the slices whose truth is not constant, peak = the truth's range; the
// scale-fitted PSNR in brackets, beside, never instead); and find-center (Vo)
// seconds.
// Rates are after a one-slice warm-up (FFTW planning happens once per
// process and shape); find-center is timed cold, as a single call runs.
// The kernel-only rate is the best of --passes timed passes (default 3),
// each begun by every rank together: one pass on this VM swung by 60%
// (258.9-418.5 slices/s on 2 ranks, the same binary within 30 minutes), as
// the machine's speed drifts; every pass's rate is in the JSON
// (kernel_passes), so the spread can be read beside the best, with each
// pass's CPU time (kernel_passes_cpu_s: the slowest rank's thread CPU
// seconds; below its wall time the pass was off its core for the rest).
// --kernel-rows N: each pass reconstructs a rank's rows in calls of N rows
// (default: one call for all of them), into the pipeline's in-place layout
// (kernels::in_place_layout, the slices over their sinograms) with one
// workspace for every call, as `beamflow recon` runs its rounds: the same
// batch shape, to compare the kernel's time a slice here with its time
// inside the file pipeline (BEAMFLOW_RECON_TRACE's kernel spans).
//
// This program measures beamflow alone. The comparison with TomoPy, run in
// the same benchmark on the same files in alternating rounds, whole process
// and in process, is run_tomo_bench.py (which calls the modes below).
//
// --input D.h5 --center C --rows A:B [--json OUT.json] measures gridrec on
// that file only (1 rank, then every rank), for run_tomo_bench.py.
// --score IMAGE.h5 --truth TRUTH.h5 --truth-begin N --center C prints the
// one quality definition of a volume file (any /exchange/data of W x W
// slices, TomoPy's included) as JSON.
//
// --accuracy SIZES (one rank) instead scores, at each width x angles, our
// fbp (ramp filter) against scikit-image's iradon on the same data and
// centre (tests/tomography/skimage_reference.py, via /usr/bin/python3), and
// gridrec against fbp (shepp filter), by PSNR and SSIM against the truth
// inside the field of view: the accuracy goals at sizes the test
// suite cannot afford. Widths must be odd (iradon's grid; see the script).
//
//   mpirun -np 2 tomo_bench [--dir DIR] [--sizes 512x360,1024x900,2048x1500] [--slices 8,4,2] [--passes 3]
//   mpirun -np 2 tomo_bench --input D.h5 --center C --rows A:B [--dir DIR] [--json OUT.json] [--passes 3]
//     [--kernel-rows N]
//   tomo_bench --score IMAGE.h5 --truth TRUTH.h5 --truth-begin N --center C
//   tomo_bench --accuracy 255x360,1023x900,2047x1500 [--dir DIR]
#include <Kokkos_Core.hpp>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <stdexcept>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "jobs/tomography/center_job.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "jobs/tomography/quality.hpp"
#include "jobs/tomography/recon_job.hpp"
#include "parallel/runtime.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "kernels/tomo/recon.hpp"

namespace {

using namespace beamflow;
using namespace beamflow::jobs;
using Clock = std::chrono::steady_clock;

struct Size {
  std::int64_t width, angles, slices;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) out.push_back(item);
  return out;
}

// The kernel-only rate's timed passes: --passes N (default 3), each in
// calls of --kernel-rows rows (0, the default: one call).
struct Passes {
  int count = 3;
  std::int64_t rows = 0;
};
Passes passes_of(std::map<std::string, std::string>& args) {
  Passes p;
  if (args.count("--passes")) p.count = std::stoi(args["--passes"]);
  if (p.count < 1) throw std::invalid_argument("--passes must be at least 1");
  if (args.count("--kernel-rows")) p.rows = std::stoll(args["--kernel-rows"]);
  if (p.rows < 0) throw std::invalid_argument("--kernel-rows must not be negative");
  return p;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct Row {
  Size size;
  std::string algorithm;
  int ranks;
  double end_to_end, kernel;  // kernel: the best of kernel_passes
  Score quality;
  std::vector<double> kernel_passes;  // slices/s of each timed pass, in order
  std::vector<double> kernel_passes_cpu;  // the slowest rank's CPU seconds in each pass
};

// Reconstructs the phantom on `comm`: the end-to-end and kernel-only rates.
Row measure(const Size& size, const std::string& algorithm, const parallel::Comm& comm, const std::filesystem::path& input,
            const std::filesystem::path& dir, double center, parallel::RowRange rows, Passes passes) {
  Row row{size, algorithm, comm.size(), 0, 0, {}, {}, {}};
  ReconOptions o;
  o.input = input;
  o.output = dir / (algorithm + std::to_string(size.width) + "-" + std::to_string(comm.size()) + ".h5");
  o.algorithm = algorithm;
  o.center = CenterSpec::parse(std::to_string(center));
  o.rows = RowSpec{rows.begin, rows.end};
  o.overwrite = true;
  // Warm-up on one slice per rank: FFTW plans once per process and shape,
  // then serves every slice of a job; the timed run shows that steady state.
  ReconOptions warm = o;
  warm.output = dir / ("warm-" + o.output.filename().string());
  warm.rows = RowSpec{rows.begin, rows.begin + comm.size()};
  warm.log = nullptr;
  reconstruct(warm, comm);
  const ReconSummary s = reconstruct(o, comm);
  row.end_to_end = double(size.slices) / s.seconds;
  // Inside agree(): a missing or unreadable truth fails every rank, not rank 0
  // alone while the others wait at the kernel passes' first collective.
  comm.agree([&] {
    if (comm.is_root()) row.quality = score(o.output, truth_volume_path(input), rows.begin, center);
  });

  // Kernel only: this rank's share of the rows, already preprocessed.
  const DxInput in(input, {}, comm.get());
  SinogramPipeline pipeline(in, {});
  const parallel::RowRange mine = parallel::block_of(rows.size(), comm.size(), comm.rank());
  kernels::Sinograms sino;
  kernels::Volume out;
  Kokkos::View<kernels::Real*> centers("bench::centers", 1);
  Kokkos::deep_copy(centers, kernels::Real(center));
  kernels::ReconParams params;
  params.centers = centers;
  const auto algo = kernels::algorithm_from_name(algorithm);
  // --kernel-rows: the calls' sinograms and slices, each in its own
  // in-place buffer (slices over sinograms), as the pipeline's rounds.
  struct Call {
    kernels::Sinograms sino;
    kernels::Volume out;
  };
  std::vector<Call> calls;
  std::vector<AlignedFloats> buffers;
  const std::int64_t W = size.width, A = size.angles;
  if (!mine.empty()) {
    sino = pipeline.load({rows.begin + mine.begin, rows.begin + mine.end});
    if (passes.rows == 0) {
      out = kernels::Volume("bench::volume", mine.size(), W, W);
      calls.push_back({sino, out});
    } else {
      params.workspace = kernels::make_workspace();
      for (std::int64_t b = 0; b < mine.size(); b += passes.rows) {
        const std::int64_t n = std::min(passes.rows, mine.size() - b);
        const kernels::InPlaceLayout l = kernels::in_place_layout(n, A, W, W);
        buffers.push_back(aligned_floats(l.values));
        std::fill(buffers.back().data(), buffers.back().data() + l.values, 0.0f);  // faulted in before the timer
        calls.push_back({kernels::Sinograms(buffers.back().data() + l.sinograms, n, A, W),
                         kernels::Volume(buffers.back().data(), n, W, W)});
      }
    }
  }
  // The in-place calls overwrite their sinograms: each pass copies them in
  // first, outside its timer.
  const auto refill = [&] {
    if (passes.rows == 0) return;
    std::int64_t b = 0;
    for (Call& c : calls) {
      const std::size_t values = std::size_t(c.sino.extent(0) * A * W);
      std::copy_n(sino.data() + std::size_t(b * A * W), values, c.sino.data());
      b += c.sino.extent(0);
    }
  };
  for (int pass = 0; pass < passes.count; ++pass) {
    refill();
    comm.barrier();  // every rank's pass at the same moment: the slowest rank's time is the pass's
    double seconds = 0, cpu = 0;
    if (!mine.empty()) {
      const double cpu0 = thread_cpu_seconds();
      const auto t = Clock::now();
      for (Call& c : calls) kernels::reconstruct(algo, c.sino, pipeline.angles(), params, c.out);
      Kokkos::fence();
      seconds = std::chrono::duration<double>(Clock::now() - t).count();
      cpu = thread_cpu_seconds() - cpu0;
    }
    row.kernel_passes.push_back(double(size.slices) / comm.max(seconds));
    row.kernel_passes_cpu.push_back(comm.max(cpu));
    row.kernel = std::max(row.kernel, row.kernel_passes.back());
  }
  return row;
}

// One row of the accuracy table: the phantom's middle row.
void accuracy(const Size& size, const std::filesystem::path& dir) {
  PhantomOptions p;
  p.output = dir / ("accuracy-" + std::to_string(size.width) + ".h5");
  p.size = size.width;
  p.angles = size.angles;
  p.rows = 3;
  p.center_offset = 6;  // an integer centre for an odd width: no resampling for iradon
  p.photons = 1e4;
  p.overwrite = true;
  make_phantom(p);
  const double center = double(size.width - 1) / 2 + p.center_offset;
  const parallel::Comm self = parallel::Comm::serial();
  auto ours = [&](const std::string& algorithm, const std::string& filter) {
    ReconOptions o;
    o.input = p.output;
    o.output = dir / (algorithm + "-" + filter + "-" + std::to_string(size.width) + ".h5");
    o.algorithm = algorithm;
    o.filter = filter;
    o.center = CenterSpec::parse(std::to_string(center));
    o.rows = RowSpec{1, 2};
    o.overwrite = true;
    reconstruct(o, self);
    return score(o.output, truth_volume_path(p.output), 1, center);
  };
  const Score fbp_ramp = ours("fbp", "ramp");
  const std::filesystem::path iradon_file = dir / ("iradon-" + std::to_string(size.width) + ".h5");
  const std::string command = "/usr/bin/python3 '" BEAMFLOW_SOURCE_DIR "/tests/tomography/skimage_reference.py' '" +
                              p.output.string() + "' " + std::to_string(std::lround(center)) + " 1 2 '" +
                              iradon_file.string() + "' ramp";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("skimage_reference.py failed: " + command);
  const Score iradon = score(iradon_file, truth_volume_path(p.output), 1, center);
  const Score fbp = ours("fbp", "shepp");
  const Score gridrec = ours("gridrec", "shepp");
  std::printf("| %lld x %lld | %.2f / %.3f | %.2f / %.3f | %+.2f | %.2f / %.3f | %.2f / %.3f | %+.2f |\n",
              (long long)size.width, (long long)size.angles, fbp_ramp.psnr, fbp_ramp.ssim, iradon.psnr,
              iradon.ssim, fbp_ramp.psnr - iradon.psnr, fbp.psnr, fbp.ssim, gridrec.psnr, gridrec.ssim,
              gridrec.psnr - fbp.psnr);
  std::fflush(stdout);
}

Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json score_json(const Score& s) {
  return {{"psnr", number(s.psnr)},
          {"ssim", number(s.ssim)},
          {"psnr_fitted", number(s.psnr_fitted)},
          {"scored", s.scored},
          {"constant", s.constant}};
}

Json row_json(const Row& r) {
  return {{"algorithm", r.algorithm}, {"ranks", r.ranks},           {"end_to_end", r.end_to_end},
          {"kernel", r.kernel},       {"kernel_passes", r.kernel_passes}, {"kernel_passes_cpu_s", r.kernel_passes_cpu},
          {"quality", score_json(r.quality)}};
}

// Rank 0 alone, the others waiting: a one-rank Comm beside the world (the
// world itself when it is one rank).
struct Solo {
  explicit Solo(const parallel::Comm& world) {
    if (world.is_serial()) return;
    MPI_Comm_split(world.mpi(), world.is_root() ? 0 : MPI_UNDEFINED, 0, &comm);
  }
  ~Solo() {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
  parallel::Comm get() const { return comm == MPI_COMM_NULL ? parallel::Comm::serial() : parallel::Comm(comm); }
  MPI_Comm comm = MPI_COMM_NULL;
};

// --input: gridrec (or --algorithms) on one file, 1 rank then every rank.
int measure_file(std::map<std::string, std::string>& args, const parallel::Comm& world,
                 const std::filesystem::path& dir) {
  const std::filesystem::path input = args["--input"];
  const double center = std::stod(args.at("--center"));
  const auto ab = split(args.at("--rows"), ':');
  const parallel::RowRange rows{std::stoll(ab.at(0)), std::stoll(ab.at(1))};
  const Passes passes = passes_of(args);
  const DxInput probe(input, {}, std::nullopt);
  const Size size{probe.shape().columns, probe.shape().angles, rows.size()};
  const Solo solo(world);
  Json out = Json::array();
  for (const std::string& algorithm : split(args.count("--algorithms") ? args["--algorithms"] : "gridrec", ',')) {
    // Rank 0 alone, inside agree(): its error ends every rank, which would
    // otherwise wait for it forever.
    world.agree([&] {
      if (world.is_root()) out.push_back(row_json(measure(size, algorithm, solo.get(), input, dir, center, rows, passes)));
    });
    if (world.size() > 1) {
      const Row r = measure(size, algorithm, world, input, dir, center, rows, passes);
      if (world.is_root()) out.push_back(row_json(r));
    }
  }
  if (!world.is_root()) return 0;
  if (args.count("--json")) {
    std::ofstream(args["--json"]) << out.dump() << "\n";
  } else {
    std::cout << out.dump() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace beamflow::jobs;
  // MPI only under mpirun: --score and --accuracy run alone.
  parallel::ParallelRuntime runtime(&argc, &argv, parallel::ParallelRuntime::Mpi::WhenLaunched);
  const parallel::Comm& world = runtime.world();
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  const std::filesystem::path dir =
      args.count("--dir") ? std::filesystem::path(args["--dir"]) : std::filesystem::temp_directory_path();
  try {
    if (args.count("--score")) {
      if (world.is_root())
        std::cout << score_json(score(args["--score"], args.at("--truth"), std::stoll(args.at("--truth-begin")),
                                      std::stod(args.at("--center"))))
                         .dump()
                  << "\n";
      return 0;
    }
    if (args.count("--input")) return measure_file(args, world, dir);
  } catch (const std::exception& e) {
    std::cerr << "tomo_bench: " << e.what() << "\n";
    return 1;
  }
  if (args.count("--accuracy")) {
    if (!world.is_root()) return 0;
    std::printf("| width x angles | fbp ramp PSNR / SSIM | iradon ramp PSNR / SSIM | fbp - iradon dB "
                "| fbp shepp PSNR / SSIM | gridrec shepp PSNR / SSIM | gridrec - fbp dB |\n"
                "| --- | --- | --- | --- | --- | --- | --- |\n");
    try {
      for (const std::string& text : split(args["--accuracy"], ',')) {
        const auto wa = split(text, 'x');
        accuracy({std::stoll(wa.at(0)), std::stoll(wa.at(1)), 1}, dir);
      }
    } catch (const std::exception& e) {
      std::cerr << "tomo_bench: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  const auto size_texts = split(args.count("--sizes") ? args["--sizes"] : "512x360,1024x900,2048x1500", ',');
  const auto slice_texts = split(args.count("--slices") ? args["--slices"] : "8,4,2", ',');
  std::vector<Size> sizes;
  for (std::size_t i = 0; i < size_texts.size(); ++i) {
    const auto wa = split(size_texts[i], 'x');
    sizes.push_back({std::stoll(wa.at(0)), std::stoll(wa.at(1)), std::stoll(slice_texts.at(i))});
  }

  const Passes passes = passes_of(args);
  // One rank alone: rank 0 on its own while the others wait.
  const Solo solo(world);
  std::vector<Row> rows;
  std::vector<std::pair<Size, std::pair<double, double>>> centers;  // seconds, error
  try {
    for (const Size& size : sizes) {
      const std::filesystem::path input = dir / ("tomo-bench-" + std::to_string(size.width) + ".h5");
      PhantomOptions p;
      p.output = input;
      p.size = size.width;
      p.angles = size.angles;
      p.rows = size.slices + 2;
      p.center_offset = 3.5;
      p.photons = 1e4;
      p.overwrite = true;
      world.agree([&] {
        if (world.is_root()) make_phantom(p);
      });
      const double center = double(size.width - 1) / 2 + p.center_offset;
      for (const std::string algorithm : {"gridrec", "fbp"}) {
        const parallel::RowRange slices{1, 1 + size.slices};  // the phantom's first and last rows are empty
        world.agree([&] {
          if (world.is_root()) rows.push_back(measure(size, algorithm, solo.get(), input, dir, center, slices, passes));
        });
        if (world.size() > 1) {
          Row r = measure(size, algorithm, world, input, dir, center, slices, passes);
          if (world.is_root()) rows.push_back(r);
        }
      }
      world.agree([&] {
        if (!world.is_root()) return;
        const DxInput in(input, {}, std::nullopt);
        SinogramPipeline pipeline(in, {});
        const CenterResult c = find_center(pipeline, {0, in.shape().rows}, {}, solo.get());
        centers.push_back({size, {c.seconds, c.center - center}});
      });
    }
  } catch (const beamflow::Error& e) {
    std::cerr << "tomo_bench: " << e.what() << "\n";
    return 1;
  }
  if (world.is_root()) {
    std::printf(
        "| width x angles | algorithm | ranks | end to end slices/s | kernel slices/s | PSNR dB (scale-fitted) | "
        "SSIM | slices scored |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const Row& r : rows)
      std::printf("| %lld x %lld | %s | %d | %.2f | %.2f | %.2f (%.2f) | %.3f | %lld of %lld |\n",
                  (long long)r.size.width, (long long)r.size.angles, r.algorithm.c_str(), r.ranks, r.end_to_end,
                  r.kernel, r.quality.psnr, r.quality.psnr_fitted, r.quality.ssim, (long long)r.quality.scored,
                  (long long)(r.quality.scored + r.quality.constant));
    std::printf("\n| width x angles | find-center (vo) s | centre error px |\n| --- | --- | --- |\n");
    for (const auto& [size, c] : centers)
      std::printf("| %lld x %lld | %.2f | %+.3f |\n", (long long)size.width, (long long)size.angles, c.first,
                  c.second);
  }
  return 0;
}
