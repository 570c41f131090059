#pragma once
// Shared by the tomography subcommands (recon, find-center, phantom,
// preview): their options come from the job's field table (jobs/requests.hpp),
// so `--chunk-rows 8` and the action input {"chunk_rows": 8} are one option;
// errors are printed by rank 0 (with --json, as a JSON line by every rank),
// with exit code 1 (2 for usage).
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

#include "apps/beamflow/subcommand.hpp"
#include "core/error.hpp"
#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/requests.hpp"
#include "platform/launcher.hpp"

namespace beamflow::cli {

inline std::string kebab(std::string name) {
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

template <class O>
void add_field_options(po::options_description& options, const std::vector<jobs::Field<O>>& fields) {
  const O defaults;
  for (const auto& f : fields) {
    std::string help = f.help;
    if (const Json d = f.get(defaults);
        !f.required && !d.is_null() && f.type != jobs::FieldType::Boolean && !(d.is_array() && d.empty()))
      help += " [" + (d.is_string() ? d.get<std::string>() : d.dump()) + "]";
    if (f.type == jobs::FieldType::Boolean)
      options.add_options()(kebab(f.name).c_str(), po::bool_switch(), help.c_str());
    else
      options.add_options()(kebab(f.name).c_str(), po::value<std::string>(), help.c_str());
  }
}

// The JSON request the parsed options describe (only options given).
template <class O>
Json request_from(const po::variables_map& vm, const std::vector<jobs::Field<O>>& fields) {
  Json request = Json::object();
  for (const auto& f : fields) {
    const std::string option = kebab(f.name);
    if (!vm.count(option) || vm[option].defaulted()) continue;
    if (f.type == jobs::FieldType::Boolean) {
      if (vm[option].as<bool>()) request[f.name] = true;
    } else {
      request[f.name] = jobs::json_from_text(f.type, option, vm[option].as<std::string>());
    }
  }
  return request;
}

// Runs `body`, printing a beamflow::Error on rank 0's stderr; exit 1, or 2
// for usage errors. With `json`, *every* rank also prints it as
// {"error", "asl_name", "message", "context"} on stdout, which is how the
// reconstruct action reads the error of a recon it ran under mpirun: errors
// are agreed across ranks, and mpirun may abort the job when the first rank
// exits, before rank 0 has printed anything.
inline int run_tomography_command(const std::string& command, bool json, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    if (platform::launch_info().rank == 0) std::cerr << "beamflow " << command << ": " << e.what() << "\n";
    if (json) {
      Json context = Json::object();
      for (const auto& [key, value] : e.context()) context[key] = value;
      std::cout << Json{{"error", e.id()}, {"asl_name", e.asl_name()}, {"message", e.message()}, {"context", context}}
                       .dump()
                << std::endl;
    }
    return jobs::is_usage_error(e) ? kExitUsage : kExitFailed;
  }
}

}  // namespace beamflow::cli
