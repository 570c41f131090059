// beamflow trigger add|list|remove|watch: file-system triggers and timers
// that hand flows to a pilot directory (engine/triggers).
#include <csignal>
#include <filesystem>
#include <iostream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "platform/events.hpp"
#include "triggers/registration.hpp"
#include "triggers/watcher.hpp"

namespace beamflow::cli {
namespace {
namespace fsys = std::filesystem;

Error usage(const std::string& what) { return Error("cli.usage", states_error::Runtime, what); }

fsys::path absolute(const std::string& p) { return fsys::absolute(p).lexically_normal(); }

void add_pilot_option(po::options_description& o) {
  o.add_options()("pilot", po::value<std::string>()->required(), "the pilot directory (registrations in D/triggers/)");
}

Json describe(const triggers::Registration& r) {
  Json j = r.to_json();
  j.erase("definition");
  j.erase("input_template");
  j["registered_at"] = format_time_ms(r.registered_at_ms);
  return j;
}

std::string summary(const triggers::Registration& r) {
  if (!r.is_timer())
    return "watch " + r.watch_dir.string() + (r.recursive ? " (recursive)" : "") + " for " + r.pattern;
  std::string s = "timer";
  if (r.every_s > 0) s += " every " + std::to_string(r.every_s) + " s";
  for (int m : r.at_minutes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " at %02d:%02d UTC", m / 60, m % 60);
    s += buf;
  }
  return s;
}

int add_main(const Output& out, const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("watch", po::value<std::string>(), "directory to watch for new files")(
      "pattern", po::value<std::string>()->default_value("*"), "glob on the file's name (hidden files never match '*')")(
      "recursive", "watch the whole tree, directories created later too")(
      "quiet-seconds", po::value<double>()->default_value(10),
      "a file unchanged this long counts as written even if never closed (0: no such rule)")(
      "endpoint", po::value<std::string>()->default_value(""), "the endpoint name events report ({{endpoint}})")(
      "every", po::value<std::string>(), "a timer: every N s/m/h/d (e.g. 10m)")(
      "at", po::value<std::vector<std::string>>()->composing(), "a timer: daily at HH:MM UTC (repeatable)")(
      "flow", po::value<std::string>()->required(), "the flow definition (JSON)")(
      "input-template", po::value<std::string>()->required(), "the input template (JSON; placeholders: docs)")(
      "id", po::value<std::string>(), "the registration id (default: the flow file's stem)")(
      "json", "print the registration as JSON");
  add_pilot_option(o);
  po::variables_map vm;
  const std::string synopsis =
      "(--watch DIR [--pattern GLOB] [--recursive] [--quiet-seconds S] | --every 10m | --at HH:MM) --flow FLOW.json "
      "--input-template T.json --pilot D [--id ID]";
  if (!out.parse(synopsis, o, {}, args, vm)) return kExitOk;

  triggers::Registration r;
  r.definition = load_json_file(vm["flow"].as<std::string>(), "flow definition");
  r.input_template = load_json_file(vm["input-template"].as<std::string>(), "input template");
  r.id = vm.count("id") ? vm["id"].as<std::string>() : fsys::path(vm["flow"].as<std::string>()).stem().string();
  if (vm.count("watch")) {
    r.watch_dir = absolute(vm["watch"].as<std::string>());
    r.pattern = vm["pattern"].as<std::string>();
    r.recursive = vm.count("recursive") > 0;
    r.quiet_seconds = vm["quiet-seconds"].as<double>();
    r.endpoint = vm["endpoint"].as<std::string>();
  }
  if (vm.count("every")) r.every_s = triggers::parse_period(vm["every"].as<std::string>());
  if (vm.count("at"))
    for (const auto& t : vm["at"].as<std::vector<std::string>>()) r.at_minutes.push_back(triggers::parse_time_of_day(t));
  const auto result = triggers::add(absolute(vm["pilot"].as<std::string>()), r);
  Json doc = describe(result.registration);
  doc["existed"] = result.existed;
  out.result(doc, [&](std::ostream& os) {
    os << (result.existed ? "already registered " : "registered ") << result.registration.id << ": "
       << summary(result.registration) << "\n";
  });
  return kExitOk;
}

int list_main(const Output& out, const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("json", "print {\"registrations\": [...]}");
  add_pilot_option(o);
  po::variables_map vm;
  if (!out.parse("--pilot D [--json]", o, {}, args, vm)) return kExitOk;
  const auto regs = triggers::list(absolute(vm["pilot"].as<std::string>()));
  Json doc{{"registrations", Json::array()}};
  for (const auto& r : regs) doc["registrations"].push_back(describe(r));
  out.result(doc, [&](std::ostream& os) {
    for (const auto& r : regs) os << r.id << "\t" << summary(r) << "\n";
  });
  return kExitOk;
}

int remove_main(const Output& out, const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("id", po::value<std::string>()->required(), "the registration to remove")("json", "print JSON");
  add_pilot_option(o);
  po::positional_options_description positional;
  positional.add("id", 1);
  po::variables_map vm;
  if (!out.parse("ID --pilot D", o, positional, args, vm)) return kExitOk;
  const std::string id = vm["id"].as<std::string>();
  triggers::remove(absolute(vm["pilot"].as<std::string>()), id);
  out.result({{"removed", id}}, [&](std::ostream& os) { os << "removed " << id << "\n"; });
  return kExitOk;
}

fs::Wakeup* g_stop = nullptr;
extern "C" void on_stop_signal(int) {
  if (g_stop) g_stop->notify();  // a write(2): async-signal-safe
}

int watch_main(const Output& out, const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("once", "rescan, fire due timers, wait for quiescent files, and exit")(
      "json", "print the final counts as JSON");
  add_pilot_option(o);
  po::variables_map vm;
  if (!out.parse("--pilot D [--once]", o, {}, args, vm)) return kExitOk;
  fs::Wakeup stop;
  g_stop = &stop;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  const fsys::path pilot = absolute(vm["pilot"].as<std::string>());
  // The watcher makes a missing pilot directory (registrations and a pilot
  // may come later, as for submit), so a mistyped path would otherwise just
  // watch nothing, quietly.
  const bool made = !fsys::exists(pilot);
  triggers::Watcher watcher(pilot, [&](const std::string& line) { out.progress(line); });
  if (made)
    out.progress("pilot directory " + pilot.string() + " did not exist: made it; nothing is registered there yet");
  out.progress("watching " + std::to_string(watcher.registrations()) + " registrations (" +
               std::to_string(watcher.stats().watches) + " directories); start rescan done" +
               (watcher.registrations() == 0 ? " (add one: beamflow trigger add ... --pilot " + pilot.string() + ")"
                                             : std::string()));
  if (!vm.count("once")) {
    watcher.run(stop.fd());
  } else {
    watcher.on_ready();
    while (watcher.pending_files() > 0) {
      fs::Poller poller;
      poller.add(watcher.fd(), 1);
      poller.wait(-1);
      watcher.on_ready();
    }
    watcher.wait_idle();
  }
  g_stop = nullptr;
  const auto s = watcher.stats();
  out.result(s.to_json(), [&](std::ostream& os) {
    os << "submitted " << s.submitted << " (already submitted: " << s.already << ", overflows: " << s.overflows
       << ", errors: " << s.errors << ")\n";
  });
  return s.errors == 0 ? kExitOk : kExitFailed;
}

int trigger_main(const std::vector<std::string>& args) {
  const std::vector<std::string> rest(args.empty() ? args.end() : args.begin() + 1, args.end());
  const std::string verb = args.empty() ? "" : args[0];
  if (verb == "add") return add_main(Output("trigger add", rest), rest);
  if (verb == "list") return list_main(Output("trigger list", rest), rest);
  if (verb == "remove") return remove_main(Output("trigger remove", rest), rest);
  if (verb == "watch") return watch_main(Output("trigger watch", rest), rest);
  if (verb == "--help" || verb == "-h") {
    std::cout << "Usage: beamflow trigger add|list|remove|watch [OPTIONS] (each with --help)\n";
    return kExitOk;
  }
  throw usage("beamflow trigger: expected add, list, remove or watch, got '" + verb + "'");
}

const Registrar trigger_registrar{
    {"trigger", "file-system triggers and timers that hand flows to a pilot (add, list, remove, watch)", trigger_main}};

}  // namespace
}  // namespace beamflow::cli
