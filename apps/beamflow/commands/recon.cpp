// beamflow recon: reconstruct a Data Exchange file, on as many MPI ranks as
// it is launched with (mpirun -np N beamflow recon ...).
#include <iomanip>
#include <iostream>

#include "apps/beamflow/commands/tomo_cli.hpp"
#include "jobs/tomography/recon_job.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::cli {
namespace {

void print_human(const jobs::ReconSummary& s) {
  std::cout << "wrote " << s.output.string() << ": " << s.slices << " slices of rows " << s.rows.begin << ":"
            << s.rows.end << " (" << s.computed << " computed, " << s.already_done << " already done), "
            << s.algorithm << "/" << s.filter << " on " << s.ranks << " rank" << (s.ranks > 1 ? "s" : "")
            << ", " << std::fixed << std::setprecision(2) << s.seconds << " s\n";
  if (s.center_search)
    std::cout << "centre " << std::setprecision(3) << s.center_search->center << " ("
              << s.center_search->method << ", confidence " << s.center_search->confidence << ")\n";
  for (const auto& p : s.previews) std::cout << "preview " << p.string() << "\n";
}

int recon_main(const std::vector<std::string>& args) {
  Output out = tomography_output("recon", args);
  return out.run([&] {
    po::options_description o("Options");
    add_field_options(o, jobs::recon_fields());
    o.add_options()("json", "print the summary as one JSON object")("quiet,q", "no progress lines on stderr");
    po::variables_map vm;
    if (!out.parse("--input D.h5 --output R.h5 [--algorithm gridrec|fbp] [--center auto|VALUE] ...", o, {}, args,
                   vm))
      return kExitOk;
    jobs::ReconOptions options =
        jobs::options_from_json(jobs::recon_fields(), request_from(vm, jobs::recon_fields()), {});
    options.log = [&out](const std::string& line) { out.progress(line); };
    // Rank 0 hashes the input (its identity and provenance) while MPI and Kokkos start.
    if (platform::launch_info().rank == 0)
      options.input_checksum = std::make_shared<jobs::InputChecksum>(
          options.input, options.input_digest.value_or(jobs::DigestKind::Xxh128));
    return with_runtime(out, [&](parallel::ParallelRuntime& runtime) {
      const jobs::ReconSummary summary = jobs::reconstruct(options, runtime.world());
      out.prints_results(runtime.world().is_root());
      out.result(summary.to_json(), [&](std::ostream&) { print_human(summary); });
      return kExitOk;
    });
  });
}

const Registrar recon_cmd{
    {"recon", "reconstruct tomography slices (gridrec or FBP; MPI, resumable)", recon_main}};

}  // namespace
}  // namespace beamflow::cli
