// beamflow phantom: a Shepp-Logan Data Exchange file with its truth.
#include <iostream>

#include "apps/beamflow/commands/tomo_cli.hpp"
#include "jobs/tomography/phantom_job.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::cli {
namespace {

int phantom_main(const std::vector<std::string>& args) {
  Output out = tomography_output("phantom", args);
  return out.run([&] {
    po::options_description o("Options");
    add_field_options(o, jobs::phantom_fields());
    o.add_options()("json", "print the truth as JSON");
    po::variables_map vm;
    if (!out.parse("--output D.h5 [--size W] [--angles N] [--rows R] [--center-offset PX] [--seed S]", o, {}, args,
                   vm))
      return kExitOk;
    const auto options =
        jobs::options_from_json(jobs::phantom_fields(), request_from(vm, jobs::phantom_fields()), {});
    return with_runtime(out, [&](parallel::ParallelRuntime& runtime) {
      // One file, one writer: under mpirun rank 0 writes, the others wait.
      std::string truth;
      runtime.world().agree([&] {
        if (runtime.world().is_root()) truth = jobs::make_phantom(options).truth.dump();
      });
      if (!runtime.world().is_root()) return kExitOk;
      const Json t = Json::parse(truth);
      out.result(t, [&](std::ostream& os) {
        os << "wrote " << t["data_file"].get<std::string>() << " (" << t["angles"] << " angles x " << t["rows"]
           << " rows x " << t["size"] << " columns, centre " << t["center"] << "), truth "
           << t["volume_file"].get<std::string>() << "\n";
      });
      return kExitOk;
    });
  });
}

const Registrar phantom_cmd{
    {"phantom", "write a Shepp-Logan test dataset (flats, darks, noise) and its truth", phantom_main}};

}  // namespace
}  // namespace beamflow::cli
