// beamflow runs / show / actions: look at runs and at what flows can call.
#include <iomanip>
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

namespace beamflow::cli {
namespace {

std::string clip(std::string s, std::size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

// Errors reach main, which reports them in the same form.
int runs_main(const std::vector<std::string>& args) {
  const Output out("runs", args);
  po::options_description o("Options");
  add_runs_dir_option(o);
  o.add_options()("json", "print a JSON array of {run_id, status, flow, started[, ended, error]}, oldest first");
  po::variables_map vm;
  if (!out.parse("[--json]", o, {}, args, vm)) return kExitOk;
  const auto runs = run::list_runs(run::runs_root(runs_dir_option(vm)));
  Json doc = Json::array();
  for (const auto& r : runs) doc.push_back(r.to_json());
  out.result(doc, [&](std::ostream& os) {
    os << std::left << std::setw(26) << "RUN_ID" << std::setw(13) << "STATUS" << std::setw(26) << "STARTED"
       << "FLOW\n";
    for (const auto& r : runs)
      os << std::setw(26) << r.run_id << std::setw(13) << r.status << std::setw(26) << r.started << r.flow << "\n";
  });
  return kExitOk;
}

// One line of history for people.
std::string describe(const Json& e) {
  const std::string type = e.value("type", "");
  const std::string frame = e.value("f", "");
  std::string s = type;
  if (!frame.empty()) s += " " + frame;
  if (type == "RunStarted") return s + " flow=" + e.value("flow", "") + " input=" + clip(e["input"].dump(), 200);
  if (type == "StateEntered") {
    s += " -> " + e.value("s", "") + " input=" + clip(e["in"].dump(), 200);
    if (e.contains("err")) s += " (caught " + e["err"].value("e", "") + ")";
    return s;
  }
  if (type == "TaskScheduled")
    return s + " " + e.value("r", "") + " action_id=" + e.value("a", "") + " attempt=" + std::to_string(e.value("att", 0)) +
           " input=" + clip(e["in"].dump(), 200);
  if (type == "TaskSucceeded") return s + " action_id=" + e.value("a", "") + " output=" + clip(e["out"].dump(), 300);
  if (type == "TaskFailed" || type == "RetryScheduled")
    return s + " error=" + e.value("e", "") + " cause=" + clip(e.value("c", ""), 300) +
           (e.contains("until") ? " retry_at=" + format_time_ms(e["until"].get<std::int64_t>()) : "");
  if (type == "WaitStarted") return s + " until=" + format_time_ms(e.value("until", std::int64_t{0}));
  if (type == "ChildrenStarted") return s + " children=" + std::to_string(e.value("n", 0));
  if (type == "FrameEnded")
    return s + (e.value("ok", false) ? " ok output=" + clip(e["out"].dump(), 200) : " failed error=" + e.value("e", ""));
  if (type == "RunEnded")
    return s + " " + e.value("status", "") +
           (e.contains("out") ? " output=" + clip(e["out"].dump(), 300) : " error=" + e.value("e", "") + " cause=" + clip(e.value("c", ""), 300));
  return s;
}

int show_main(const std::vector<std::string>& args) {
  const Output out("show", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), "the run to show")
      ("json", "print {run: summary, history: [events]} as one JSON object");
  add_runs_dir_option(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("RUN_ID [--json]", o, pos, args, vm)) return kExitOk;
  const auto root = run::runs_root(runs_dir_option(vm));
  const std::string id = vm["run-id"].as<std::string>();
  auto summary = run::summarize_run(root, id);
  if (!summary) throw Error("run.not_found", states_error::Runtime, "no such run", {{"run_id", id}, {"runs_dir", root.string()}});
  const run::History h = run::read_history(run::run_dir(root, id) / "journal");
  Json events = Json::array();
  for (const auto& e : h.events) {
    Json j = e.body;
    j["type"] = run::to_string(e.type);
    events.push_back(std::move(j));
  }
  out.result({{"run", summary->to_json()}, {"history", events}, {"torn_tail", h.torn_tail},
              {"skipped_records", h.skipped_records}},
             [&](std::ostream& os) {
               os << "run " << summary->run_id << "  " << summary->status << "  flow " << summary->flow << "\n";
               for (const auto& j : events) {
                 const std::int64_t t = j.value("t", std::int64_t{0});
                 os << (t ? format_time_ms(t) : std::string(24, ' ')) << "  " << describe(j) << "\n";
               }
               if (h.torn_tail) os << "(journal ends in a torn record, ignored)\n";
               if (h.skipped_records) os << "(" << h.skipped_records << " corrupt record(s) skipped)\n";
             });
  return kExitOk;
}

int actions_main(const std::vector<std::string>& args) {
  const Output out("actions", args);
  po::options_description o("Options");
  o.add_options()("json", "print the action descriptions (name, description, input_schema, synchronous) as JSON");
  po::variables_map vm;
  if (!out.parse("[--json]", o, {}, args, vm)) return kExitOk;
  Json doc = Json::array();
  for (const auto* a : action_registry().list())
    doc.push_back({{"name", a->name}, {"description", a->description}, {"input_schema", a->input_schema},
                   {"synchronous", a->synchronous}});
  out.result(
      doc,
      [&](std::ostream& os) {
        for (const auto& a : doc)
          os << std::left << std::setw(14) << a["name"].get<std::string>() << a["description"].get<std::string>()
             << "\n";
      },
      2);
  return kExitOk;
}

const Registrar runs_cmd{{"runs", "list runs, oldest first", runs_main}};
const Registrar show_cmd{{"show", "print the history of a run from its journal", show_main}};
const Registrar actions_cmd{{"actions", "list the actions flows can call", actions_main}};

}  // namespace
}  // namespace beamflow::cli
