// beamflow submit / status / wait / cancel: the clients of a pilot directory
// (engine/pilot/intake.hpp, client.hpp). They work whether a pilot runs or
// not: submissions wait in D/inbox, cancel requests in D/cancel.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "lang/definition.hpp"
#include "pilot/client.hpp"
#include "pilot/intake.hpp"
#include "platform/fs.hpp"

namespace beamflow::cli {
namespace {

namespace stdfs = std::filesystem;

void add_pilot_dir(po::options_description& o) {
  o.add_options()("pilot", po::value<std::string>()->required(), "the pilot directory")(
      "json", "print one JSON object on stdout");
}

stdfs::path pilot_dir(const po::variables_map& vm) {
  return stdfs::absolute(vm["pilot"].as<std::string>()).lexically_normal();
}

// The runs a submit hands over: one per --input (or one with {}), then one
// per line of each --batch file (JSON lines, each line one run's input).
std::vector<Json> submit_inputs(const po::variables_map& vm) {
  std::vector<Json> inputs;
  if (vm.count("input"))
    for (const auto& f : vm["input"].as<std::vector<std::string>>()) inputs.push_back(load_json_file(f, "input"));
  if (vm.count("batch")) {
    for (const auto& f : vm["batch"].as<std::vector<std::string>>()) {
      std::ifstream in(f);
      if (!in) throw Error("cli.file_missing", states_error::Runtime, "batch file cannot be opened", {{"file", f}});
      std::string line;
      for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        inputs.push_back(parse_json_as(line, f, "cli.bad_json", states_error::Runtime, "a line of the batch file",
                                       {{"file", f}, {"line", std::to_string(n)}}));
      }
    }
  } else if (inputs.empty()) {
    inputs.push_back(Json::object());
  }
  return inputs;
}

int submit_main(const std::vector<std::string>& args) {
  const Output out("submit", args);
  po::options_description o("Options");
  o.add_options()("flow", po::value<std::string>()->required(), "flow definition (ASL JSON)")(
      "input,i", po::value<std::vector<std::string>>(),
      "run input JSON file ('-' for stdin; default {}); several: one run each")(
      "batch", po::value<std::vector<std::string>>(), "a file of run inputs, one JSON document a line: one run each")(
      "id", po::value<std::string>(),
      "submission id: the same id submitted again returns the same run (several runs: ID-1, ID-2, ...)");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("flow", 1);
  po::variables_map vm;
  if (!out.parse("FLOW.json [--input IN.json]... [--batch INPUTS.jsonl] --pilot D [--id SUBMISSION_ID] [--json]", o,
                 pos, args, vm))
    return kExitOk;
  const auto definition = std::make_shared<const Json>(load_json_file(vm["flow"].as<std::string>(), "flow definition"));
  const std::vector<Json> inputs = submit_inputs(vm);
  const std::string id = vm.count("id") ? vm["id"].as<std::string>() : "";
  // Refused here, with the problems listed, rather than failing in the pilot.
  lang::compile_or_throw(*definition, [](const std::string& r) { return action_registry().resolve(r) != nullptr; });
  // One hand-off for all of them (pilot::Intake), durable with a few syncs.
  // A single run keeps its id as given and answers {run_id, existed}.
  const bool single = inputs.size() == 1 && !vm.count("batch");
  std::vector<pilot::Intake::Item> items;
  items.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    items.push_back({definition, inputs[i], id.empty() || single ? id : id + "-" + std::to_string(i + 1)});
  pilot::Intake intake(pilot_dir(vm));
  std::vector<pilot::Intake::Outcome> outcomes;
  if (single || !id.empty()) {
    outcomes = intake.submit(items);  // ids given: answered by reading what they name (Verify)
  } else {
    // Fresh ids: batch files (Intake::submit_batch_file), one file and one
    // ledger link a run instead of a file a run, which the pilot reads once
    // and moves once; at most kRunsPerBatchFile each (a file's hard links
    // are bounded: 65,000 on ext4).
    constexpr std::size_t kRunsPerBatchFile = 1000;
    for (std::size_t at = 0; at < items.size(); at += kRunsPerBatchFile) {
      const std::vector<pilot::Intake::Item> part(items.begin() + static_cast<std::ptrdiff_t>(at),
                                                  items.begin() + static_cast<std::ptrdiff_t>(
                                                                      std::min(items.size(), at + kRunsPerBatchFile)));
      for (auto& o : intake.submit_batch_file(part)) outcomes.push_back(std::move(o));
    }
  }
  Json runs = Json::array();
  for (const auto& r : outcomes) {
    if (r.error) throw *r.error;  // an id or a conflict: the others are handed over, and a retry is idempotent
    runs.push_back({{"run_id", r.run_id}, {"existed", r.existed}, {"submission_id", r.submission_id}});
  }
  const Json result = single ? Json{{"run_id", runs[0]["run_id"]}, {"existed", runs[0]["existed"]}} : Json{{"runs", runs}};
  out.result(result, [&](std::ostream& os) {
    for (const auto& r : outcomes) os << r.run_id << (r.existed ? " (submitted before)" : "") << "\n";
  });
  return kExitOk;
}

void print_run(std::ostream& os, const run::RunSummary& s) {
  os << s.run_id << "  " << s.status;
  if (!s.error.is_null() && s.error.is_object()) os << "  " << s.error.value("error", "") << ": " << s.error.value("cause", "");
  os << "\n";
}

int status_main(const std::vector<std::string>& args) {
  const Output out("status", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>(), "one run of the pilot");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  po::variables_map vm;
  if (!out.parse("--pilot D [RUN_ID] [--json]", o, pos, args, vm)) return kExitOk;
  if (vm.count("run-id")) {
    const std::string run_id = vm["run-id"].as<std::string>();
    const auto s = pilot::find_run(pilot_dir(vm), run_id);
    Json doc = s.to_json();
    doc["log"] = pilot::run_log_file(pilot_dir(vm), run_id).string();  // where `beamflow logs` reads
    out.result(doc, [&](std::ostream& os) {
      print_run(os, s);
      os << "log: " << doc["log"].get<std::string>() << "  (beamflow logs " << run_id << " --pilot D)\n";
    });
    return kExitOk;
  }
  const Json st = pilot::pilot_status(pilot_dir(vm));
  out.result(st, [&](std::ostream& os) {
    os << "pilot " << st["dir"].get<std::string>() << ": " << (st["alive"].get<bool>() ? "running" : "not running")
       << "\nruns:";
    for (const auto& [k, v] : st["runs"].items()) os << " " << k << " " << v;
    os << "\nqueued submissions: " << st["queued"] << "\n";
    const Json& p = st["pilot"];
    if (p.is_object()) {
      os << "tasks: queued " << p["tasks"]["queued"] << ", running " << p["tasks"]["running"] << ", done "
         << p["tasks"]["done"] << "\n";
      for (const auto& n : st["nodes"]) {
        os << "node " << n["host"].get<std::string>() << ": " << n["ranks"].size() << " ranks, " << n["busy"]
           << " busy" << (n["lost"].get<int>() ? ", " + n["lost"].dump() + " lost" : "") << "\n";
        for (const auto& r : p["ranks"]) {
          if (r["host"] != n["host"]) continue;
          os << "  rank " << r["rank"] << (r["lost"].get<bool>() ? " lost" : r["busy"].get<bool>() ? " busy" : " idle")
             << ", busy " << r["busy_ms"] << " ms, utilisation "
             << static_cast<int>(r["utilisation"].get<double>() * 100.0 + 0.5) << "%, " << r["tasks_done"] << " tasks\n";
        }
      }
    }
  });
  return kExitOk;
}

int wait_main(const std::vector<std::string>& args) {
  const Output out("wait", args);
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::vector<std::string>>()->required(), "the run(s) to wait for")(
      "timeout", po::value<double>()->default_value(0), "give up after this many seconds (0: never)")(
      "quiet,q", "no progress line on a terminal");
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", -1);
  po::variables_map vm;
  if (!out.parse("RUN_ID... --pilot D [--timeout S] [--json] [--quiet]", o, pos, args, vm)) return kExitOk;
  const auto ids = vm["run-id"].as<std::vector<std::string>>();
  // On a terminal: one progress line rewritten in place; nothing otherwise.
  const bool live = ::isatty(STDERR_FILENO) && !out.json() && !out.quiet();
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(vm["timeout"].as<double>() * 1000.0));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<run::RunSummary> ended;
  std::map<std::string, int> ended_by_status;
  bool shown = false;
  auto show = [&](const std::string& run_id, const run::RunSummary& now) {
    std::string line = "wait: " + std::to_string(ended.size()) + "/" + std::to_string(ids.size()) + " ended";
    std::string counts;
    for (const auto& [status, n] : ended_by_status) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    if (!counts.empty()) line += " (" + counts + ")";
    line += "; " + run_id + " " + now.status;
    if (now.status == "RUNNING") {
      const std::string state = pilot::current_state(pilot_dir(vm), run_id);
      if (!state.empty()) line += " at " + state;
    }
    winsize w{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 1 && line.size() >= w.ws_col)
      line.resize(w.ws_col - 1u);  // a wrapped line could not be rewritten
    std::cerr << "\r\033[K" << line << std::flush;
    shown = true;
  };
  pilot::RunWaiter waiter(pilot_dir(vm));
  for (const auto& run_id : ids) {
    // One after another: once the first has ended most others have too.
    auto left = timeout;
    if (timeout.count() > 0)
      left = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         deadline - std::chrono::steady_clock::now()));
    const auto s = waiter.wait(run_id, left, [&](const run::RunSummary& now) {
      if (live) show(run_id, now);
    });
    if (shown && (!s || ids.size() == ended.size() + 1)) std::cerr << "\r\033[K" << std::flush;  // the result follows
    if (!s)
      throw Error("pilot.wait.timeout", states_error::Timeout, "run '" + run_id + "' had not ended in time",
                  {{"run_id", run_id}});
    ended.push_back(*s);
    ++ended_by_status[s->status];
  }
  const auto failed = std::count_if(ended.begin(), ended.end(), [](const auto& s) { return s.status != "SUCCEEDED"; });
  if (ended.size() == 1) {
    out.result(ended.front().to_json(), [&](std::ostream& os) { print_run(os, ended.front()); });
  } else {
    Json runs = Json::array();
    for (const auto& s : ended) runs.push_back(s.to_json());
    out.result({{"runs", runs}, {"succeeded", static_cast<std::int64_t>(ended.size()) - failed}, {"failed", failed}},
               [&](std::ostream& os) {
                 for (const auto& s : ended) print_run(os, s);
               });
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

// `RUN_ID --pilot D [--json]`: the run id; nullopt after --help.
std::optional<std::string> parse_one_run(const Output& out, const char* help, const std::vector<std::string>& args,
                                         po::variables_map& vm) {
  po::options_description o("Options");
  o.add_options()("run-id", po::value<std::string>()->required(), help);
  add_pilot_dir(o);
  po::positional_options_description pos;
  pos.add("run-id", 1);
  if (!out.parse("RUN_ID --pilot D [--json]", o, pos, args, vm)) return std::nullopt;
  return vm["run-id"].as<std::string>();
}

// beamflow logs RUN_ID --pilot D: the run's log (run_log.hpp): where each
// task ran, when, retries, crashes counted, cancel, drain, the end.
int logs_main(const std::vector<std::string>& args) {
  const Output out("logs", args);
  po::variables_map vm;
  const auto id = parse_one_run(out, "the run", args, vm);
  if (!id) return kExitOk;
  const std::string& run_id = *id;
  const auto s = pilot::find_run(pilot_dir(vm), run_id);  // pilot.run.unknown when neither run nor submission
  const stdfs::path file = pilot::run_log_file(pilot_dir(vm), run_id);
  std::string text;
  if (stdfs::exists(file)) text = fs::read_file(file);
  Json lines = Json::array();
  for (std::size_t at = 0; at < text.size();) {
    const auto end = text.find('\n', at);
    lines.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  out.result({{"run_id", run_id}, {"status", s.status}, {"log", file.string()}, {"lines", lines}},
             [&](std::ostream& os) { os << text; });
  return kExitOk;
}

int cancel_main(const std::vector<std::string>& args) {
  const Output out("cancel", args);
  po::variables_map vm;
  const auto id = parse_one_run(out, "the run to cancel", args, vm);
  if (!id) return kExitOk;
  const std::string& run_id = *id;
  pilot::request_cancel(pilot_dir(vm), run_id);
  out.result({{"run_id", run_id}, {"cancel_requested", true}},
             [&](std::ostream& os) { os << "cancel of " << run_id << " requested\n"; });
  return kExitOk;
}

const Registrar submit_cmd{{"submit", "hand a flow to a pilot directory; prints the run id at once", submit_main}};
const Registrar status_cmd{{"status", "a pilot's runs by state, queue and ranks (or one run's status)", status_main}};
const Registrar wait_cmd{{"wait", "wait for a pilot's run(s) to end (exit 0 when all SUCCEEDED)", wait_main}};
const Registrar logs_cmd{{"logs", "print a pilot run's log (where each task ran, retries, crashes, cancel, drain)",
                           logs_main}};
const Registrar cancel_cmd{{"cancel", "ask a pilot to cancel one of its runs", cancel_main}};

}  // namespace
}  // namespace beamflow::cli
