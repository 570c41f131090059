// beamflow validate: static checks of a flow definition.
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "lang/definition.hpp"

namespace beamflow::cli {
namespace {

int validate_main(const std::vector<std::string>& args) {
  Output out("validate", args);
  return out.run([&] {
    po::options_description o("Options");
    o.add_options()
        ("flow", po::value<std::string>()->required(), "flow definition (ASL JSON)")
        ("json", "print {\"status\": \"VALID\"|\"INVALID\", \"errors\": [{pointer, state, message}]}");
    po::positional_options_description pos;
    pos.add("flow", 1);
    po::variables_map vm;
    if (!out.parse("FLOW.json [--json]", o, pos, args, vm)) return kExitOk;
    const std::string flow = vm["flow"].as<std::string>();
    Json errors = Json::array();
    try {
      const Json definition = load_json_file(flow, "flow definition");
      const auto& registry = action_registry();
      auto result = lang::compile_definition(definition, [&](const std::string& r) { return registry.resolve(r) != nullptr; });
      for (const auto& p : result.problems) errors.push_back({{"pointer", p.pointer}, {"state", p.state}, {"message", p.message}});
    } catch (const Error& e) {
      // An unreadable file is one more problem of the definition.
      errors.push_back({{"pointer", ""}, {"state", ""}, {"message", e.what()}});
    }
    out.result({{"status", errors.empty() ? "VALID" : "INVALID"}, {"errors", errors}}, [&](std::ostream& os) {
      if (errors.empty()) {
        os << flow << ": valid\n";
        return;
      }
      os << flow << ": " << errors.size() << " problem(s)\n";
      for (const auto& e : errors) {
        const std::string state = e["state"].get<std::string>();
        os << "  " << (e["pointer"].get<std::string>().empty() ? "/" : e["pointer"].get<std::string>())
           << (state.empty() ? "" : " [" + state + "]") << ": " << e["message"].get<std::string>() << "\n";
      }
    });
    return errors.empty() ? kExitOk : kExitUsage;
  });
}

const Registrar validate_cmd{{"validate", "check a flow definition and report every problem with its location", validate_main}};

}  // namespace
}  // namespace beamflow::cli
