// beamflow: one executable, subcommands registered in commands/*.cpp.
#include <algorithm>
#include <iostream>

#include "apps/beamflow/output.hpp"
#include "apps/beamflow/subcommand.hpp"
#include "jobs/onnx/formats.hpp"

namespace beamflow::cli {
namespace {
std::vector<Subcommand>& registry() {
  static std::vector<Subcommand> commands;
  return commands;
}

void print_usage(std::ostream& out) {
  out << "beamflow " BEAMFLOW_VERSION " - HPC workflow engine for light-source data\n\n"
      << "Usage: beamflow SUBCOMMAND [OPTIONS]\n       beamflow SUBCOMMAND --help\n\nSubcommands:\n";
  std::vector<const Subcommand*> sorted;
  for (const auto& c : registry())
    if (!c.hidden) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* c : sorted) {
    out << "  " << c->name << std::string(c->name.size() < 14 ? 14 - c->name.size() : 1, ' ')
        << c->summary << "\n";
  }
  out << "\nEnvironment:\n  BEAMFLOW_HOME  state directory (default ./.beamflow): runs/, models/\n";
}
}  // namespace

Registrar::Registrar(Subcommand command) { registry().push_back(std::move(command)); }
const std::vector<Subcommand>& subcommands() { return registry(); }

}  // namespace beamflow::cli

int main(int argc, char** argv) {
  using namespace beamflow::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "beamflow " BEAMFLOW_VERSION "\n";
    return kExitOk;
  }
  beamflow::onnx::register_onnx_formats();
  for (const auto& c : subcommands()) {
    if (c.name != args[0]) continue;
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    return Output(c.name, rest).run([&] { return c.main(rest); });
  }
  std::cerr << "beamflow: unknown subcommand '" << args[0] << "'\n";
  print_usage(std::cerr);
  return kExitUsage;
}
