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
  po::options_description o("Options");
  add_field_options(o, jobs::recon_fields());
  o.add_options()("json", "print the summary as one JSON object")("quiet,q", "no progress lines on stderr");
  po::variables_map vm;
  int code = 0;
  if (!parse_options("recon",
                     "--input D.h5 --output R.h5 [--algorithm gridrec|fbp] [--center auto|VALUE] ...", o, {},
                     args, vm, code))
    return code;
  return run_tomography_command("recon", vm.count("json") > 0, [&] {
    jobs::ReconOptions options =
        jobs::options_from_json(jobs::recon_fields(), request_from(vm, jobs::recon_fields()), {});
    const bool quiet = vm.count("quiet") > 0;
    options.log = [quiet](const std::string& line) {
      if (!quiet) std::cerr << "beamflow recon: " << line << std::endl;
    };
    parallel::ParallelRuntime runtime;
    const jobs::ReconSummary summary = jobs::reconstruct(options, runtime.world());
    if (runtime.world().is_root()) {
      if (vm.count("json"))
        std::cout << summary.to_json().dump() << std::endl;
      else
        print_human(summary);
    }
    return kExitOk;
  });
}

const Registrar recon_cmd{
    {"recon", "reconstruct tomography slices (gridrec or FBP; MPI, resumable)", recon_main}};

}  // namespace
}  // namespace beamflow::cli
