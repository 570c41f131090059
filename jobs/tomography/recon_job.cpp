#include "jobs/tomography/recon_job.hpp"

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <new>
#include <sstream>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "parallel/backend.hpp"
#include "parallel/shared_counter.hpp"
#include "jobs/tomography/input_checksum.hpp"
#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/buffer_pool.hpp"
#include "jobs/tomography/fft_wisdom.hpp"
#include "jobs/tomography/kernel_errors.hpp"
#include "jobs/tomography/preview.hpp"
#include "jobs/tomography/recon_trace.hpp"
#include "jobs/tomography/replaced_file.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "kernels/common/fft.hpp"
#include "kernels/tomo/recon.hpp"
#include "platform/output_file.hpp"

namespace beamflow::jobs {

Json ReconSummary::to_json() const {
  Json previews_json = Json::array();
  for (const auto& p : previews) previews_json.push_back(p.string());
  return {{"output", output.string()},
          {"rows", {rows.begin, rows.end}},
          {"slices", slices},
          {"computed", computed},
          {"already_done", already_done},
          {"chunk_rows", chunk_rows},
          {"rounds", rounds},
          {"pipeline_depth", pipeline_depth},
          {"ranks", ranks},
          {"algorithm", algorithm},
          {"filter", filter},
          {"center", centers.empty() ? Json(nullptr) : Json(centers[centers.size() / 2])},
          {"centers", centers},
          {"center_search", center_search ? center_search->to_json() : Json(nullptr)},
          {"input_digest", input_digest},
          // What flows written before input_digest read; null unless a SHA-256.
          {"input_sha256", sha256_hex_of(input_digest) ? Json(*sha256_hex_of(input_digest)) : Json(nullptr)},
          {"timing",
           {{"seconds", seconds},
            {"read_seconds", read_seconds},
            {"preprocess_seconds", preprocess_seconds},
            {"kernel_seconds", kernel_seconds},
            {"write_seconds", write_seconds},
            {"wait_seconds", wait_seconds}}},
          {"previews", previews_json}};
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Validates what can be checked before touching a file; usage errors.
kernels::Algorithm check_options(const ReconOptions& o) {
  parallel::require_backend(o.backend);
  if (o.pad < 1 || o.pad > 8) throw usage_error("pad", "--pad must be 1..8");
  if (o.chunk_rows < 0)
    throw usage_error("chunk_rows", "--chunk-rows must be >= 0 (0: from the memory budget)");
  if (o.memory_budget_mib < 1) throw usage_error("memory", "--memory-budget-mib must be >= 1");
  if (o.pipeline_depth < 0 || o.pipeline_depth > 1)
    throw usage_error("pipeline", "--pipeline-depth must be 0 (off) or 1 (overlap reading and writing with the kernel)");
  auto usage = [](const kernels::Error& e, const char* what) { return usage_error(what, e.message()); };
  try {
    kernels::filter_from_name(o.filter);
  } catch (const kernels::Error& e) {
    throw usage(e, "filter");
  }
  try {
    return kernels::algorithm_from_name(o.algorithm);
  } catch (const kernels::Error& e) {
    throw usage(e, "algorithm");
  }
}

struct PreparedOutput {
  std::filesystem::path work;  // the file the slices go to: the output, or its partial file
  std::string plans;
  std::string input_digest;  // as that file records it
};

// Rank 0: checks the output path against the one output rule
// (platform/output_file.hpp: an output that is the input is refused even
// with `overwrite`) and says whether this run makes a new output: no
// partial file, and no output or one `overwrite` replaces. A new output
// needs nothing of the input's digest until it is created, so its first
// rounds are read and computed meanwhile (reconstruct()).
bool makes_new_output(const std::filesystem::path& path, const std::filesystem::path& input, bool overwrite) {
  check_output_directory(path);
  const std::filesystem::path partial = partial_output_path(path);
  fs::check_not_input(path, {input}, "output");
  fs::check_not_input(partial, {input}, "output's partial file");
  std::error_code ec;
  return !std::filesystem::exists(partial, ec) && (overwrite || !std::filesystem::exists(path, ec));
}

// Rank 0: finds or creates the file this run writes (after
// makes_new_output's checks). An incomplete output is never under the
// final name: it is built as OUTPUT.partial and renamed when every slice is
// done. With `new_plans` (makes_new_output said so) the partial file is
// created with them. Else an existing partial file (or, from an older
// beamflow, an output) with this reconstruction's header is resumed; other
// settings are refused unless `overwrite`. Returns the FFT plans the run
// follows: those the file recorded when resuming, else the ones
// `choose_plans` makes, recorded in the new file. Unless `digest_asked`, an
// existing file recording another kind of input digest than `header` (an
// older beamflow's SHA-256) is compared by a digest of that kind, made here.
PreparedOutput prepare_output(const std::filesystem::path& path, const std::filesystem::path& input,
                              const VolumeHeader& header, bool overwrite, bool digest_asked,
                              const std::optional<std::string>& new_plans,
                              const std::function<std::string()>& choose_plans) {
  const std::filesystem::path partial = partial_output_path(path);
  if (new_plans) {
    VolumeFile::create(partial, header, *new_plans);
    return {partial, *new_plans, header.input_digest};
  }
  auto resume = [&](const std::filesystem::path& file) -> std::optional<PreparedOutput> {
    const VolumeHeader recorded = VolumeFile::read_header(file);
    VolumeHeader ours = header;
    const auto kind = digest_kind(recorded.input_digest);
    if (!digest_asked && kind && kind != digest_kind(header.input_digest))
      ours.input_digest = file_digest(input, *kind);
    const std::string difference = recorded.difference(ours);
    if (difference.empty()) {  // resume; an older beamflow's output records no plans
      const std::string plans = VolumeFile::read_fft_plans(file);
      return PreparedOutput{file, plans.empty() ? choose_plans() : plans, ours.input_digest};
    }
    if (overwrite) return std::nullopt;
    throw output_error("tomo.output.exists",
                       "output exists and was made with other settings (the file's vs this run's " + difference +
                           "); remove it, pass --overwrite, or rerun with the same settings",
                       {{"file", file.string()}, {"dataset", kVolumeDataset}});
  };
  std::error_code ec;
  if (std::filesystem::exists(partial, ec)) {
    if (auto r = resume(partial)) return *r;
    std::filesystem::remove(partial, ec);
    if (ec)
      throw output_error("tomo.output.write", "cannot remove the old partial output: " + ec.message(),
                         {{"file", partial.string()}});
  } else if (std::filesystem::exists(path, ec) && !overwrite) {
    if (auto r = resume(path)) return *r;
  }
  // With `overwrite` an existing output stays whole until the new one
  // replaces it.
  const std::string plans = choose_plans();
  VolumeFile::create(partial, header, plans);
  return {partial, plans, header.input_digest};
}

// FFTW_MEASURE picks a plan by timing candidates, so two processes may pick
// different plans, which round differently. Rank 0 picks them for this
// run's shapes, starting from the machine's stored wisdom (fft_wisdom.hpp),
// and every rank follows its choice (the output keeps it for a resumed
// run): with chunks cut at kernels::row_group boundaries, a slice gets the
// same bits whichever rank, chunk or run computes it.
std::string choose_fft_plans(kernels::Algorithm algorithm, const DxShape& shape, const kernels::ReconParams& p,
                             const std::function<void(const std::string&)>& log) {
  const std::filesystem::path store = fft_wisdom_path();
  const std::string stored = load_fft_wisdom(store);
  if (!stored.empty() && !kernels::fft::import_wisdom(stored))
    log("ignoring unreadable FFT wisdom " + store.string());
  const int angles = static_cast<int>(shape.angles), width = static_cast<int>(shape.columns);
  kernels::prepare(algorithm, angles, width, width, p);
  std::string plans = kernels::fft::export_wisdom();
  if (!same_fft_wisdom(plans, stored)) {
    const std::string failed = save_fft_wisdom(store, plans);
    if (!failed.empty()) log("cannot keep the FFT plans for later runs: " + failed);
  }
  return plans;
}

void follow_fft_plans(const std::string& plans, const std::filesystem::path& output) {
  if (!kernels::fft::import_wisdom(plans))
    throw output_error("tomo.output.exists",
                       "output records FFT plans FFTW cannot read; remove it or pass --overwrite",
                       {{"file", output.string()}, {"dataset", kVolumeDataset}});
}

std::int64_t kill_after_chunks() {
  const char* value = std::getenv(kKillAfterChunksEnv);
  return value ? std::atoll(value) : 0;
}

// The test hook kSlowRankEnv ("RANK:MILLISECONDS"): that rank's compute
// thread sleeps so long after each chunk's kernel.
struct SlowRank {
  int rank = -1;
  std::chrono::milliseconds per_chunk{0};
};
SlowRank slow_rank() {
  const char* value = std::getenv(kSlowRankEnv);
  if (!value) return {};
  const std::string text(value);
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return {};
  return {std::atoi(text.substr(0, colon).c_str()), std::chrono::milliseconds(std::atoll(text.c_str() + colon + 1))};
}

}  // namespace

ReconSummary reconstruct(const ReconOptions& o, const parallel::Comm& comm) {
  const auto start = Clock::now();
  ReconTrace trace = ReconTrace::from_environment(comm.rank());
  const ReconTrace::Span whole(trace, "reconstruct");
  // One setup step at a time on the main thread's timeline.
  std::optional<ReconTrace::Span> setup(std::in_place, trace, "open input");
  auto log = [&](const std::string& line) {
    if (comm.is_root() && o.log) o.log(line);
  };
  const kernels::Algorithm algorithm = check_options(o);

  // Each rank opens the input on its own, without MPI-IO: every read is an
  // independent hyperslab of this rank's rows, which MPI-IO does nothing
  // for, and Open MPI's MPI-IO open (its components loaded, a collective)
  // and close cost 150-270 ms and 30-90 ms of a run's wall clock against
  // 10-40 ms and 0.5 ms for HDF5's own driver (2 ranks, 512 x 360 input).
  std::optional<DxInput> input;
  comm.agree([&] {
    check_output_directory(o.output);
    input.emplace(o.input, o.layout, std::nullopt);
  });
  const DxShape shape = input->shape();
  setup.emplace(trace, "budget and previews");
  const std::string file = o.input.string();
  const parallel::RowRange rows = o.rows ? o.rows->resolve(shape.rows, file, o.layout.data) : parallel::RowRange{0, shape.rows};

  ReconSummary s;
  s.output = o.output;
  s.rows = rows;
  s.slices = rows.size();
  s.ranks = comm.size();
  s.algorithm = o.algorithm;
  s.filter = o.filter;

  // The memory budget bounds every large allocation of a round: refused
  // here, before anything is allocated or written, rather than in Kokkos.
  const std::int64_t group = kernels::row_group(algorithm);
  std::int64_t budget_rows = 0;
  comm.agree([&] {
    budget_rows = chunk_rows_within_budget(
        {shape.angles, shape.columns, shape.flats + shape.darks, o.pad, o.pipeline_depth},
        kernels::workspace_bytes(algorithm, shape.angles, shape.columns, shape.columns, o.pad), group,
        o.memory_budget_mib << 20, o.chunk_rows);
  });
  // The previews follow the one output rule too: checked before reconstructing.
  comm.agree([&] {
    if (!comm.is_root() || !o.preview) return;
    PreviewOptions p;
    p.volume = o.output;
    p.output = *o.preview;
    p.slices = o.preview_slices;
    p.overwrite = o.overwrite;
    check_previews(p, 1, {o.input});
  });

  setup.emplace(trace, "centre");
  SinogramPipeline pipeline(*input, o.preprocess);
  if (o.center.is_auto()) {
    CenterSearch search = o.center_search;
    search.samples = o.center.samples;
    s.center_search = find_center(pipeline, rows, search, comm);
    s.centers = s.center_search->per_row(rows);
    log("centre " + std::to_string(s.center_search->center) + " (" + s.center_search->method +
        ", confidence " + std::to_string(s.center_search->confidence) + ")");
  } else {
    s.centers = o.center.resolve(rows);
  }
  check_centers(s.centers, shape.columns, rows, file, o.layout.data);

  VolumeHeader header;
  header.slices = rows.size();
  header.width = shape.columns;
  header.rows = rows;
  header.algorithm = o.algorithm;
  header.filter = o.filter;
  header.pad = o.pad;
  header.centers = s.centers;
  header.input_file = std::filesystem::absolute(o.input).lexically_normal().string();
  header.input_dataset = o.layout.data;
  header.parameters = {{"preprocess", pipeline.options().to_json()},
                       {"layout",
                        {{"data", o.layout.data},
                         {"flat", o.layout.flat},
                         {"dark", o.layout.dark},
                         {"theta", o.layout.theta}}}};
  kernels::ReconParams params;
  params.filter = kernels::filter_from_name(o.filter);
  params.pad = o.pad;
  // The kernel's scratch arrays, allocated once for every chunk of the run,
  // and first-touched on a thread of their own while the main thread goes
  // on (checks the output, reads the first rounds): each fresh page costs a
  // fault, on the VMs this runs on up to 2 ms a MiB when the host has taken
  // the memory back (0.2-0.5 s a rank for gridrec's 177 MiB at 2048 x 1500),
  // which the first kernel paid inside its span. The memory budget counts
  // these arrays (workspace_bytes); the first kernel waits for them. Rank 0
  // starts only once it has chosen the FFT plans, whose planning arrays
  // (FFTW_MEASURE writes them; the budget does not count them) are freed by
  // then, so its peak is no higher than before; the other ranks follow
  // plans and never measure. A thread that cannot start, or memory refused,
  // leaves the arrays to the first kernel, as before.
  params.workspace = kernels::make_workspace();
  std::shared_future<void> workspace_ready;
  const auto prefault_workspace = [&] {
    if (s.slices == 0) return;
    try {
      workspace_ready = std::async(std::launch::async, [&trace, workspace = params.workspace, algorithm,
                                                        angles = static_cast<int>(shape.angles),
                                                        width = static_cast<int>(shape.columns), pad = o.pad] {
                          const auto t = Clock::now();
                          const ReconTrace::ThreadTimes times = trace.thread_times();
                          try {
                            kernels::prefault_workspace(algorithm, *workspace, angles, width, width, pad);
                          } catch (const std::bad_alloc&) {
                          }
                          trace.add("workspace", "prefault", t, Clock::now(), -1, &times);
                        }).share();
    } catch (const std::system_error&) {
    }
  };
  if (!comm.is_root()) prefault_workspace();
  // Rank 0 checks the output and decides whether it makes a new one; if
  // so, it chooses the FFT plans now and every rank computes its first
  // rounds while the input's digest, which only the new file's header
  // needs, is still being made (InputChecksum: one read of the whole input,
  // from disk on a fresh run): the digest is no longer a wait before the
  // first kernel. A run that may resume (a partial file, or an output
  // without `overwrite`) needs the digest to decide, and the done flags to
  // partition, before it reads any slice.
  setup.emplace(trace, "check output");
  std::optional<std::string> new_plans;  // rank 0's
  comm.agree([&] {
    if (comm.is_root() && makes_new_output(o.output, o.input, o.overwrite))
      new_plans = choose_fft_plans(algorithm, shape, params, log);
  });
  // FFTW's exported wisdom is never empty: empty plans say "no new output".
  const std::string early_plans = comm.broadcast(new_plans.value_or(""));
  const bool fresh = !early_plans.empty();
  if (!fresh) new_plans.reset();
  std::filesystem::path work;
  if (fresh) {
    work = partial_output_path(o.output);
    comm.agree([&] { follow_fft_plans(early_plans, work); });
  }
  std::optional<VolumeFile> out;
  // Every rank: the digest (rank 0), the output found or created (rank 0),
  // and opened for writing.
  const auto open_output = [&] {
    setup.emplace(trace, "input digest");
    const DigestKind digest_as = o.input_digest.value_or(DigestKind::Xxh128);
    comm.agree([&] {
      if (!comm.is_root()) return;
      const auto& early = o.input_checksum;
      header.input_digest = early && early->path() == o.input && early->kind() == digest_as
                                ? early->get()
                                : file_digest(o.input, digest_as);
    });
    setup.emplace(trace, "prepare output");
    PreparedOutput prepared;
    comm.agree([&] {
      if (comm.is_root())
        prepared = prepare_output(o.output, o.input, header, o.overwrite, o.input_digest.has_value(), new_plans,
                                  [&] { return choose_fft_plans(algorithm, shape, params, log); });
    });
    s.input_digest = comm.broadcast(prepared.input_digest);
    if (!fresh) {
      const std::string plans = comm.broadcast(prepared.plans);
      work = comm.broadcast(prepared.work.string());
      comm.agree([&] { follow_fft_plans(plans, work); });
    }
    setup.emplace(trace, "open output");
    comm.agree([&] { out.emplace(work); });
  };
  std::vector<std::uint8_t> done(std::size_t(s.slices), 0);  // a new output's
  if (!fresh) {
    open_output();
    done = out->done();
  }
  if (comm.is_root()) prefault_workspace();  // its plans chosen
  for (std::uint8_t d : done) s.already_done += d ? 1 : 0;

  // partition: the pending slices (done flag 0) cut into chunks of whole
  // row groups, one list in row order that every rank computes alike; the
  // ranks claim its chunks one at a time as they become free (below).
  s.chunk_rows = std::min(budget_rows, std::max<std::int64_t>(1, s.slices));
  if (o.pipeline_depth > 0 && o.chunk_rows == 0)
    s.chunk_rows = pipelined_chunk_rows(s.chunk_rows, (s.slices - s.already_done + comm.size() - 1) / comm.size());
  s.chunk_rows = parallel::whole_groups(s.chunk_rows, group);
  std::vector<parallel::RowRange> chunks = parallel::pending_chunks(done, 1, 0, s.chunk_rows, group);
  // ... and, still without --chunk-rows, its first and last chunks cut
  // smaller: the first read and the last writes are the ones no kernel
  // overlaps, and small chunks last leave the rank that ends first less to
  // wait for.
  if (o.pipeline_depth > 0 && o.chunk_rows == 0) chunks = parallel::taper(std::move(chunks), group);
  // Every round's host buffers are as large as the widest chunk's, so that
  // tapered rounds (small, full, then halving) reuse them instead of
  // mapping a larger one and faulting its pages in afresh each time a round
  // grows; a page is faulted in only when first written, so a narrow round
  // in a wide buffer costs no more than in its own.
  std::int64_t widest = 0;
  for (const parallel::RowRange& c : chunks) widest = std::max(widest, c.size());
  pipeline.reserve_rows(widest);
  s.rounds = static_cast<std::int64_t>(chunks.size());
  log("computing " + std::to_string(s.slices - s.already_done) + " of " + std::to_string(s.slices) +
      " slices (" + std::to_string(s.already_done) + " already done) in " + std::to_string(s.rounds) +
      " chunks of at most " + std::to_string(s.chunk_rows) + " rows on " + std::to_string(comm.size()) +
      (comm.size() == 1 ? " rank" : " ranks"));

  setup.reset();
  // The test hook: only the first kill_after chunks of the list are
  // claimed, so exactly those are on disk when every rank kills itself.
  const std::int64_t kill_after = kill_after_chunks();
  const bool killed = kill_after > 0 && kill_after <= std::int64_t(chunks.size());
  const std::int64_t claimable = killed ? kill_after : std::int64_t(chunks.size());
  const SlowRank slow = slow_rank();
  const std::int64_t W = shape.columns;
  s.pipeline_depth = o.pipeline_depth;
  const bool pipelined = o.pipeline_depth > 0;
  std::int64_t computed = 0;
  double read_s = 0, write_s = 0, wait_s = 0;
  double preprocess_s = 0, kernel_s = 0;  // written by the compute thread, read after its last task
  // A round's slices on the host, aligned so that VolumeFile can write them
  // past the page cache.
  using HostVolume = AlignedFloats;
  // Buffers kept across rounds instead of faulting in fresh pages each
  // round: the written slabs (at most two in use: one being computed, one
  // being written) and, where the device is not the host, the sinograms
  // (compute thread only).
  constexpr bool on_host = Kokkos::SpaceAccessibility<Kokkos::HostSpace, kernels::MemSpace>::accessible &&
                           std::is_same_v<kernels::Volume::array_layout, Kokkos::LayoutRight>;
  SinogramStorage sino_storage;
  BufferPool<HostVolume> slabs(2);
  // Where the device is the host the kernel writes a round's slices into
  // its slab, over the round's sinograms (kernels::in_place_layout): one
  // buffer a round instead of two, the sinograms' 20-30 MiB a rank at the
  // bench's sizes not first-touched (a fault each 2 MiB, dear on a VM).
  const auto slab_values = [&](std::int64_t chunk_rows) {
    return on_host ? kernels::in_place_layout(chunk_rows, shape.angles, W, W).values
                   : static_cast<std::size_t>(chunk_rows * W * W);
  };

  // preprocess + kernel: device work only (no HDF5, no MPI), on the
  // compute thread when pipelined.
  const char* compute_thread = pipelined ? "compute" : "main";
  const auto compute = [&](std::int64_t round, parallel::RowRange chunk, RawSlab& raw) -> HostVolume {
    auto t = Clock::now();
    ReconTrace::ThreadTimes times = trace.thread_times();
    const parallel::RowRange in_rows = raw.rows;
    // Every pixel is written by the kernel: nothing is initialised.
    HostVolume slab = slabs.take(slab_values(chunk.size()));
    if (slab.capacity == 0) slab = aligned_floats(std::max(slab_values(chunk.size()), slab_values(widest)));
    kernels::Sinograms sino =
        on_host ? pipeline.preprocess_into(
                      raw, slab.data() + kernels::in_place_layout(chunk.size(), shape.angles, W, W).sinograms)
                : pipeline.preprocess(raw, &sino_storage);
    pipeline.recycle(std::move(raw));  // the projections are in the sinograms now
    raw = RawSlab{};
    preprocess_s += since(t);
    trace.add("preprocess", compute_thread, t, Clock::now(), round, &times);
    if (workspace_ready.valid()) workspace_ready.wait();  // the first round's kernel, at most
    t = Clock::now();
    times = trace.thread_times();
    kernels::ReconParams p = params;
    Kokkos::View<kernels::Real*> centers("beamflow::jobs::centers", chunk.size());
    auto host_centers = Kokkos::create_mirror_view(centers);
    for (std::int64_t i = 0; i < chunk.size(); ++i)
      host_centers(i) = kernels::Real(s.centers[std::size_t(chunk.begin + i)]);
    Kokkos::deep_copy(centers, host_centers);
    p.centers = centers;
    const Kokkos::View<float***, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(
        slab.data(), chunk.size(), W, W);
    kernels::Volume volume;
    if constexpr (on_host)
      volume = kernels::Volume(slab.data(), chunk.size(), W, W);
    else
      volume = kernels::Volume(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("beamflow::jobs::volume")),
                               chunk.size(), W, W);
    with_kernel_errors([&] { kernels::reconstruct(algorithm, sino, pipeline.angles(), p, volume); }, file,
                       {{"dataset", o.layout.data},
                        {"rows", std::to_string(in_rows.begin) + ":" + std::to_string(in_rows.end)}});
    sino = kernels::Sinograms();
    if constexpr (!on_host) {
      auto mirror = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), volume);
      Kokkos::deep_copy(host, mirror);
    }
    if (slow.rank == comm.rank()) std::this_thread::sleep_for(slow.per_chunk);
    kernel_s += since(t);
    trace.add("kernel", compute_thread, t, Clock::now(), round, &times);
    return slab;
  };

  // One chunk on this rank, from its claim to its write (its index in the
  // list is the trace's "round").
  struct Round {
    std::int64_t index = -1;
    parallel::RowRange chunk;  // empty: nothing left to claim
    RawSlab raw;
    std::exception_ptr failed;  // reading or computing
    std::future<HostVolume> volume;
  };
  // Claims: no lockstep rounds. A rank claims the next chunk of the list
  // when it starts reading one (pipelined: one ahead of the chunk being
  // computed) from a counter on rank 0 (parallel::SharedCounter: a
  // one-sided fetch-and-add, the other ranks take no part), so a rank on a
  // slower core takes fewer chunks instead of every rank waiting for it
  // once a round. A rank that fails stops the counter: every rank's next
  // claim finds nothing, they finish the chunks they hold, and the one
  // agreement after the last chunk throws the failure on every rank.
  parallel::SharedCounter counter(comm);
  bool stopped = false;
  const auto stop_claims = [&] {
    if (!std::exchange(stopped, true)) counter.stop();
  };
  // read slab: HDF5 on the main thread; a chunk that cannot be read fails
  // in its turn, after the chunks this rank claimed before it are written.
  const auto read = [&]() {
    Round r;
    if (stopped) return r;
    const std::optional<std::int64_t> n = counter.claim();
    if (!n || *n >= claimable) return r;
    r.index = *n;
    r.chunk = chunks[std::size_t(*n)];
    const auto t = Clock::now();
    const auto traced = trace.span("read", "main", r.index);
    try {
      r.raw = pipeline.read({rows.begin + r.chunk.begin, rows.begin + r.chunk.end});
    } catch (...) {
      r.failed = std::current_exception();
      stop_claims();
    }
    read_s += since(t);
    return r;
  };
  // Hands the chunk to the compute thread (pipelined) or runs it on wait().
  // Pipelined, a chunk is handed over as soon as it is read and starts when
  // the one before it ends, not when the main thread has collected that one
  // and written the one before: a write that outlasts a kernel does not
  // leave the compute thread idle. Claimed and handed over only after the
  // chunk two before it is written, so no more than two slabs are in use.
  // A chunk handed over runs to its end before reconstruct() leaves, also
  // after a failure.
  std::shared_future<void> handed_over;  // the end of the last round handed over
  const auto start_compute = [&](Round& r) {
    if (r.chunk.empty() || r.failed) return;
    try {  // a thread that cannot start fails the chunk, and so the run
      std::promise<void> end;
      std::shared_future<void> after = std::exchange(handed_over, end.get_future().share());
      r.volume = std::async(pipelined ? std::launch::async : std::launch::deferred,
                            [&compute, round = r.index, chunk = r.chunk, raw = std::move(r.raw),
                             after = std::move(after), end = std::move(end)]() mutable {
                              if (after.valid()) after.wait();
                              const struct Ended {
                                std::promise<void>& end;
                                ~Ended() { end.set_value(); }
                              } ended{end};
                              return compute(round, chunk, raw);
                            });
    } catch (...) {
      r.failed = std::current_exception();
    }
  };
  const auto wait = [&](Round& r) {
    HostVolume slab;
    if (!r.volume.valid()) return slab;
    const auto t = Clock::now();
    const auto traced = trace.span("wait", "main", r.index);
    try {
      slab = r.volume.get();
    } catch (...) {
      r.failed = std::current_exception();
    }
    if (pipelined) wait_s += since(t);
    return slab;
  };

  Round current, ahead;
  std::exception_ptr failed;  // this rank's first failure, in its chunks' order
  current = read();
  start_compute(current);
  if (pipelined && !current.chunk.empty()) {
    ahead = read();
    start_compute(ahead);
  }
  if (fresh) {  // the first chunks are computing meanwhile
    open_output();
    setup.reset();
  }
  while (!current.chunk.empty()) {
    HostVolume slab = wait(current);
    if (current.failed && !failed) {
      failed = current.failed;
      stop_claims();
    }
    // write slab: this rank's slices, then their done flags; nothing after
    // a failure
    if (!failed) {
      const auto t = Clock::now();
      const auto traced = trace.span("write", "main", current.index);
      try {
        out->commit(current.chunk, slab.data());
        computed += current.chunk.size();
      } catch (...) {
        failed = std::current_exception();
        stop_claims();
      }
      write_s += since(t);
      log("chunk " + std::to_string(current.index + 1) + "/" + std::to_string(s.rounds) + " written");
    }
    slabs.give(std::move(slab));
    if (pipelined) {
      current = std::exchange(ahead, Round{});
      if (!current.chunk.empty()) {
        ahead = read();
        start_compute(ahead);
      }
    } else {
      current = read();
      start_compute(current);
    }
  }
  if (killed) {
    comm.barrier();
    std::raise(SIGKILL);
  }
  setup.emplace(trace, "close output");
  comm.agree([&] {
    if (failed) std::rethrow_exception(failed);
    out->close();
  });
  setup.emplace(trace, "publish");
  // Complete: only now does the volume take its final name.
  comm.agree([&] {
    if (!comm.is_root() || work == o.output) return;
    fs::check_not_input(o.output, {o.input}, "output");
    ReplacedFile replaced(o.output);  // freed after the rename, off the ranks' path
    fs::publish_file(work, o.output);
    std::move(replaced).release();
  });

  setup.emplace(trace, "reduce");
  s.computed = comm.sum(computed);
  s.read_seconds = comm.max(read_s);
  s.preprocess_seconds = comm.max(preprocess_s);
  s.kernel_seconds = comm.max(kernel_s);
  s.write_seconds = comm.max(write_s);
  s.wait_seconds = comm.max(wait_s);
  log("computed " + std::to_string(s.computed) + " slices, " + std::to_string(s.already_done) +
      " were already done");

  setup.reset();
  if (o.preview) {
    const auto traced = trace.span("previews");
    std::vector<std::string> files;
    comm.agree([&] {
      if (!comm.is_root()) return;
      PreviewOptions p;
      p.volume = o.output;
      p.output = *o.preview;
      p.slices = o.preview_slices;
      p.overwrite = o.overwrite;
      for (const auto& f : write_previews(p).files) files.push_back(f.string());
    });
    for (const auto& f : Json::parse(comm.broadcast(Json(files).dump())))
      s.previews.push_back(f.get<std::string>());
  }
  s.seconds = comm.max(since(start));
  return s;
}

}  // namespace beamflow::jobs
