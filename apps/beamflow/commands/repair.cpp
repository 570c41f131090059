// beamflow repair RUN_ID: say what cutting a damaged journal back would drop,
// and with --yes cut it (engine/run/repair.hpp).
#include <ostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "run/paths.hpp"
#include "run/repair.hpp"

namespace beamflow::cli {
namespace {

void print_plan(std::ostream& out, const run::RepairPlan& p) {
  if (!p.journal_exists) {
    out << "run " << p.run_id << ": no journal; nothing to repair (resume starts it afresh)\n";
    return;
  }
  if (!p.needed()) {
    out << "run " << p.run_id << ": the journal is whole (" << p.kept_records << " records";
    if (p.torn_tail)
      out << "; " << (p.file_size - p.keep_bytes)
                << " bytes of a torn tail, what a crash leaves, are cut by the next resume";
    out << "); nothing to repair\n";
    return;
  }
  const auto& d = *p.damage;
  out << "run " << p.run_id << ": journal " << p.journal_file.string() << " is damaged at byte " << d.offset
            << " (record #" << d.record + 1 << "): " << d.what << "\n"
            << "repair keeps bytes 0.." << p.keep_bytes << " (" << p.kept_records << " records in whole commits) and drops "
            << (p.file_size - p.keep_bytes) << " bytes";
  if (p.dropped.empty()) {
    out << " (no record there still decodes)\n";
  } else {
    out << ", including these " << p.dropped.size() << " records:\n";
    for (const auto& r : p.dropped) {
      out << "  byte " << r["offset"].get<std::uint64_t>() << "  " << r["type"].get<std::string>();
      for (const char* key : {"frame", "state", "action_id", "status"})
        if (r.contains(key)) out << " " << key << "=" << r[key].get<std::string>();
      if (r.value("undecodable", false)) out << " (body does not decode)";
      out << "\n";
    }
  }
  out << "after the cut, `beamflow resume " << p.run_id
            << "` continues from the last kept record: the steps whose records are dropped run again, except that an "
               "action which had finished keeps its recorded outcome (same action id) and is not run twice\n";
}

// Errors reach main, which reports them in the same form (--json included).
int repair_main(const std::vector<std::string>& args) {
  const Output out("repair", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run whose journal to repair")
      ("yes", "cut the damaged journal back (without it, only say what would be dropped)")
      ("dry-run", "only say what would be dropped (the default)")
      ("json", "print the plan as one JSON object {run_id, needed, repaired, damage, keep_bytes, dropped, ...}");
  add_runs_dir_option(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("RUN_ID [--yes | --dry-run] [--json]", o, pos, args, vm)) return kExitOk;
  if (vm.count("yes") && vm.count("dry-run"))
    throw Error("cli.usage", states_error::Runtime, "--yes and --dry-run exclude each other");
  const auto root = run::runs_root(runs_dir_option(vm));
  const std::string id = vm["run-id"].as<std::string>();
  const run::RepairPlan plan = vm.count("yes") ? run::repair_run(root, id) : run::plan_repair(root, id);
  out.result(plan.to_json(), [&](std::ostream& os) {
    print_plan(os, plan);
    if (!plan.needed()) return;
    if (plan.repaired)
      os << "cut the journal back to " << plan.keep_bytes << " bytes; run INTERRUPTED, resume it with `beamflow resume "
         << id << "`\n";
    else
      os << "nothing was changed; run `beamflow repair " << id << " --yes` to cut the journal back\n";
  });
  return kExitOk;
}

const Registrar repair_cmd{{"repair", "cut a damaged journal back after saying what that drops (--yes to do it)", repair_main}};

}  // namespace
}  // namespace beamflow::cli
