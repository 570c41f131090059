// beamflow preview: PNG images of slices of a reconstructed volume.
#include <iostream>

#include "apps/beamflow/commands/tomo_cli.hpp"
#include "jobs/tomography/preview.hpp"

namespace beamflow::cli {
namespace {

int preview_main(const std::vector<std::string>& args) {
  Output out = tomography_output("preview", args);
  return out.run([&] {
    po::options_description o("Options");
    add_field_options(o, jobs::preview_fields());
    o.add_options()("json", "print {files, slices, windows} as JSON");
    po::variables_map vm;
    if (!out.parse("--input R.h5 --output P.png [--slices 10,20]", o, {}, args, vm)) return kExitOk;
    const auto options =
        jobs::options_from_json(jobs::preview_fields(), request_from(vm, jobs::preview_fields()), {});
    const jobs::PreviewResult result = jobs::write_previews(options);
    out.result(result.to_json(), [&](std::ostream& os) {
      for (std::size_t i = 0; i < result.files.size(); ++i)
        os << result.files[i].string() << ": slice " << result.slices[i] << ", window [" << result.windows[i].low
           << ", " << result.windows[i].high << "]\n";
    });
    return kExitOk;
  });
}

const Registrar preview_cmd{{"preview", "draw PNG previews of reconstructed slices", preview_main}};

}  // namespace
}  // namespace beamflow::cli
