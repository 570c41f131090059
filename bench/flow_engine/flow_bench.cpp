// Flow-engine throughput: state transitions per second for a 10,000-state
// Pass chain and a Map of 10,000 `echo` items, with and without fsync, and
// journal bytes per transition. The peer (aws-local-stepfunctions, Node.js)
// runs the same flows in the same run when tools/asl-crosscheck has it
// installed (`npm install` there).
//
//   bench_flow_engine [--states N] [--items N] [--dir DIR]
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "actions/action.hpp"
#include "journal/journal.hpp"
#include "run/engine.hpp"
#include "run/paths.hpp"
#include "run/run_store.hpp"

using namespace beamflow;

namespace {

Json pass_chain(int n) {
  Json states = Json::object();
  for (int i = 0; i < n; ++i) {
    Json s = {{"Type", "Pass"}, {"Parameters", {{"step", i}, {"carry.$", "$.carry"}}}};
    if (i + 1 < n) s["Next"] = "S" + std::to_string(i + 1);
    else s["End"] = true;
    states["S" + std::to_string(i)] = s;
  }
  return {{"StartAt", "S0"}, {"States", states}};
}

Json echo_map() {
  return Json::parse(R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
    "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"echo","End":true}}},"End":true}}})");
}

struct Figure {
  double seconds = 0;
  double cpu_seconds = 0;  // this process's CPU time: robust to a loaded machine
  std::size_t transitions = 0;  // states entered + frames/run ended
  std::uint64_t journal_bytes = 0;
};

Figure measure(const Json& flow, const Json& input, journal::Durability d, const std::filesystem::path& root,
               const std::string& id) {
  actions::ActionRegistry registry;
  actions::register_builtin_actions(registry);
  run::Engine engine(registry);
  run::RunOptions o;
  o.runs_root = root;
  o.run_id = id;
  o.durability = d;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const auto r = engine.start(flow, input, o);
  Figure f;
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.cpu_seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  if (r.status != run::RunStatus::Succeeded) {
    std::cerr << "bench run failed: " << r.error.error << ": " << r.error.cause << "\n";
    std::exit(1);
  }
  const auto journal_file = run::run_dir(root, id) / "journal";
  f.journal_bytes = std::filesystem::file_size(journal_file);
  for (const auto& e : run::read_history(journal_file).events)
    if (e.type == run::RecordType::StateEntered || e.type == run::RecordType::FrameEnded ||
        e.type == run::RecordType::RunEnded)
      ++f.transitions;
  return f;
}

// Runs the peer on the same flow; returns seconds, or a negative number when
// the peer is not installed.
double peer_seconds(const Json& flow, const Json& input, const std::filesystem::path& dir) {
  const std::filesystem::path tool = std::filesystem::path(BEAMFLOW_SOURCE_DIR) / "tools/asl-crosscheck";
  if (!std::filesystem::exists(tool / "node_modules/aws-local-stepfunctions")) return -1;
  std::ofstream(dir / "peer-flow.json") << flow.dump();
  std::ofstream(dir / "peer-input.json") << input.dump();
  const std::string cmd = "cd '" + tool.string() + "' && node bench-peer.mjs '" + (dir / "peer-flow.json").string() +
                          "' '" + (dir / "peer-input.json").string() + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[256] = {0};
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) return -1;
  Json doc = Json::parse(out, nullptr, false);
  return doc.is_object() ? doc.value("seconds", -1.0) : -1.0;
}

}  // namespace

int main(int argc, char** argv) {
  int states = 10000, items = 10000;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "beamflow-bench-flow";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--states") states = std::atoi(argv[i + 1]);
    else if (a == "--items") items = std::atoi(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  const Json chain = pass_chain(states);
  const Json chain_in = {{"carry", "x"}};
  Json map_in = {{"items", Json::array()}};
  for (int i = 0; i < items; ++i) map_in["items"].push_back({{"i", i}});
  const Json map = echo_map();

  std::printf("%-22s %-6s %11s %13s %15s %12s %13s %7s\n", "workload", "fsync", "transitions", "ours trans/s",
              "ours trans/cpu-s", "bytes/trans", "peer trans/s", "ratio");
  int n = 0;
  for (const auto& [name, flow, input] : {std::tuple{"pass chain " + std::to_string(states), chain, chain_in},
                                           std::tuple{"map echo " + std::to_string(items), map, map_in}}) {
    const double peer = peer_seconds(flow, input, dir);
    for (auto d : {journal::Durability::None, journal::Durability::Fsync}) {
      const Figure f = measure(flow, input, d, dir / "runs", "b" + std::to_string(n++));
      const double ours = f.transitions / f.seconds;
      const double theirs = peer > 0 ? f.transitions / peer : 0;
      char peer_txt[32] = "n/a", ratio_txt[32] = "n/a";
      if (peer > 0) {
        std::snprintf(peer_txt, sizeof peer_txt, "%.0f", theirs);
        std::snprintf(ratio_txt, sizeof ratio_txt, "%.2f", ours / theirs);
      }
      std::printf("%-22s %-6s %11zu %13.0f %15.0f %12.1f %13s %7s\n", name.c_str(),
                  d == journal::Durability::Fsync ? "yes" : "no", f.transitions, ours,
                  f.transitions / std::max(f.cpu_seconds, 1e-9),
                  static_cast<double>(f.journal_bytes) / f.transitions, peer_txt, ratio_txt);
    }
  }
  std::printf("\npeer: aws-local-stepfunctions (in-memory, no durability), wall clock; ratio = ours / peer, wall clock.\n"
              "transitions: states entered plus branch/iteration/run ends; bytes/trans: journal bytes per transition.\n");
  std::filesystem::remove_all(dir);
  return 0;
}
