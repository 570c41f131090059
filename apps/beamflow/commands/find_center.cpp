// beamflow find-center: the rotation centre of a Data Exchange file, as JSON.
#include <iostream>

#include "apps/beamflow/commands/tomo_cli.hpp"
#include "jobs/tomography/center_job.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::cli {
namespace {

int find_center_main(const std::vector<std::string>& args) {
  Output out = tomography_output("find-center", args);
  out.always_json();
  return out.run([&] {
    po::options_description o("Options");
    add_field_options(o, jobs::find_center_fields());
    po::variables_map vm;
    if (!out.parse("--input D.h5 [--method vo|pc] [--rows A:B] [--samples K]", o, {}, args, vm)) return kExitOk;
    const auto options =
        jobs::options_from_json(jobs::find_center_fields(), request_from(vm, jobs::find_center_fields()), {});
    return with_runtime(out, [&](parallel::ParallelRuntime& runtime) {
      const jobs::CenterResult result = jobs::find_center(options, runtime.world());
      out.prints_results(runtime.world().is_root());
      out.result(result.to_json(), {});
      return kExitOk;
    });
  });
}

const Registrar find_center_cmd{
    {"find-center", "find the rotation centre (Vo or phase correlation); prints JSON", find_center_main}};

}  // namespace
}  // namespace beamflow::cli
