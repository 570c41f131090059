// beamflow find-center: the rotation centre of a Data Exchange file, as JSON.
#include <iostream>

#include "apps/beamflow/commands/tomo_cli.hpp"
#include "jobs/tomography/center_job.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::cli {
namespace {

int find_center_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  add_field_options(o, jobs::find_center_fields());
  po::variables_map vm;
  int code = 0;
  if (!parse_options("find-center", "--input D.h5 [--method vo|pc] [--rows A:B] [--samples K]", o, {}, args,
                     vm, code))
    return code;
  return run_tomography_command("find-center", true, [&] {
    const auto options =
        jobs::options_from_json(jobs::find_center_fields(), request_from(vm, jobs::find_center_fields()), {});
    parallel::ParallelRuntime runtime;
    const jobs::CenterResult result = jobs::find_center(options, runtime.world());
    if (runtime.world().is_root()) std::cout << result.to_json().dump() << std::endl;
    return kExitOk;
  });
}

const Registrar find_center_cmd{
    {"find-center", "find the rotation centre (Vo or phase correlation); prints JSON", find_center_main}};

}  // namespace
}  // namespace beamflow::cli
