// beamflow transfer: a verified, resumable transfer between endpoints, on as
// many MPI ranks as it is launched with (mpirun -np N beamflow transfer ...).
// Running the same command again resumes an interrupted transfer. Alone (no
// launcher) it is one rank that never starts MPI (parallel::ParallelRuntime).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include "apps/beamflow/output.hpp"
#include "apps/beamflow/subcommand.hpp"
#include "core/error.hpp"
#include "jobs/transfer/errors.hpp"
#include "jobs/transfer/transfer.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::cli {
namespace {

void print_human(const Json& s, std::ostream& out) {
  out << "transferred " << s["files"] << " files: " << s["files_copied"] << " copied, " << s["files_unchanged"]
            << " unchanged (checksums equal), " << s["files_skipped"] << " skipped; "
            << s["bytes_transferred"].get<std::uint64_t>() << " of " << s["bytes"].get<std::uint64_t>()
            << " bytes copied in " << std::fixed << std::setprecision(2) << s["seconds"].get<double>() << " s ("
            << std::setprecision(1) << s["throughput_mb_s"].get<double>() << " MB/s) on " << s["ranks"] << " rank"
            << (s["ranks"] == 1 ? "" : "s") << ", " << s["checksum_algorithm"].get<std::string>()
            << (s["verified"].get<bool>() ? ", verified" : ", not verified") << "\n";
  if (s["chunks_resumed"] != 0 || s["chunks_repaired"] != 0)
    out << "resumed " << s["chunks_resumed"] << " verified chunks, repaired " << s["chunks_repaired"] << "\n";
  for (const auto& [path, checksum] : s["checksums"].items())
    out << checksum.get<std::string>() << "  " << path << "\n";
}

int transfer_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("endpoints", po::value<std::string>()->required(), "endpoints file (configs/endpoints.json)")(
      "request", po::value<std::string>()->required(), "transfer request, JSON (docs/transfer.md)")(
      "state-dir", po::value<std::string>(),
      "where the resume manifest lives [$BEAMFLOW_HOME/transfers/SUBMISSION_ID]")(
      "json", "print the summary as one JSON object")("quiet,q", "no progress line on a terminal");
  Output out("transfer", args);
  po::variables_map vm;
  if (!out.parse("--endpoints FILE --request REQUEST.json [--state-dir DIR] [--json]", o, {}, args, vm))
    return kExitOk;
  const parallel::ParallelRuntime runtime(parallel::ParallelRuntime::Mpi::WhenLaunched,
                                          parallel::ParallelRuntime::Kernels::None);
  const parallel::Comm& world = runtime.world();
  // Errors are agreed across ranks (every rank throws the same one): rank 0
  // reports it, in both forms under --json (a person may watch the job).
  out.speaks(world.is_root()).prints_results(world.is_root()).prints_error_documents(world.is_root());
  out.human_errors_too();
  return out.run([&] {
    const transfer::Endpoints endpoints = transfer::Endpoints::load(vm["endpoints"].as<std::string>());
    const transfer::TransferRequest request = transfer::load_request(vm["request"].as<std::string>());
    transfer::TransferOptions options;
    options.state_dir =
        vm.count("state-dir") ? std::filesystem::path(vm["state-dir"].as<std::string>()) : transfer::default_state_dir(request);
    const bool progress = world.is_root() && !out.quiet() && ::isatty(STDERR_FILENO);
    auto last = std::chrono::steady_clock::now();
    if (progress)
      options.progress = [&](const transfer::Progress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(250) && p.files_done != p.files_total) return;
        last = now;
        std::fprintf(stderr, "\rbeamflow transfer: rank 0 of %d: %llu/%llu files, %.1f/%.1f MB, %.0f MB/s   ",
                     world.size(), static_cast<unsigned long long>(p.files_done),
                     static_cast<unsigned long long>(p.files_total), p.bytes_done / 1e6, p.bytes_total / 1e6,
                     p.seconds > 0 ? p.bytes_done / 1e6 / p.seconds : 0.0);
      };
    const transfer::TransferSummary summary = transfer::run_transfer(request, endpoints, world, options);
    if (progress) std::fputc('\n', stderr);
    out.result(summary.document, [&](std::ostream& o) { print_human(summary.document, o); });
    return kExitOk;
  });
}

const Registrar transfer_cmd{
    {"transfer", "verified, resumable transfer between endpoints (checksums, chunks; MPI)", transfer_main}};

}  // namespace
}  // namespace beamflow::cli
