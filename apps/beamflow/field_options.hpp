#pragma once
// The command line of a job's options table (actions/options.hpp): one
// --kebab-case flag per field, and the JSON request the parsed flags
// describe, so `beamflow recon --chunk-rows 8` and the action input
// {"chunk_rows": 8} are one option.
#include <string>
#include <vector>

#include "actions/options.hpp"
#include "apps/beamflow/subcommand.hpp"

namespace beamflow::cli {

template <class O>
void add_field_options(po::options_description& options, const std::vector<actions::OptionField<O>>& fields) {
  for (const auto& f : actions::described(fields)) {
    std::string help = f.description;
    if (const Json& d = f.default_value;
        !d.is_null() && f.type != actions::FieldType::Boolean && !(d.is_array() && d.empty()))
      help += " [" + (d.is_string() ? d.get<std::string>() : d.dump()) + "]";
    const std::string option = actions::kebab_case(f.name);
    if (f.type == actions::FieldType::Boolean)
      options.add_options()(option.c_str(), po::bool_switch(), help.c_str());
    else
      options.add_options()(option.c_str(), po::value<std::string>(), help.c_str());
  }
}

// The JSON request the parsed options describe (only options given); a
// value that does not parse is reported through `error`, naming the flag.
template <class O>
Json request_from(const po::variables_map& vm, const std::vector<actions::OptionField<O>>& fields,
                  const actions::OptionError& error) {
  Json request = Json::object();
  for (const auto& f : fields) {
    const std::string option = actions::kebab_case(f.name);
    if (!vm.count(option) || vm[option].defaulted()) continue;
    if (f.type == actions::FieldType::Boolean) {
      if (vm[option].as<bool>()) request[f.name] = true;
      continue;
    }
    const std::string text = vm[option].as<std::string>();
    auto value = actions::value_from_text(f.type, text);
    if (!value) throw error(option, "'" + text + "' is not a valid " + actions::type_name(f.type));
    request[f.name] = std::move(*value);
  }
  return request;
}

}  // namespace beamflow::cli
