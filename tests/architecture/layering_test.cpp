// Layers point one way (docs/architecture.md): every source file's quoted
// includes are resolved to the folder they live in, and that folder must be
// the file's own or one its layer may include (tests/architecture/layers.json,
// the one table). System includes are checked against each layer's forbidden
// list (no MPI in the engine, no JSON in kernels, ...). The walk is recursive
// and a folder with sources that the table does not name is itself a
// failure, so a new folder cannot silently escape the check.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

struct Layer {
  std::set<std::string> may_include;
  std::vector<std::regex> forbid_system;
};

struct Table {
  std::map<std::string, Layer> layers;
  std::vector<std::string> not_layers;
};

Table load_table(const fs::path& file) {
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  Table t;
  for (const auto& [name, spec] : j.at("layers").items()) {
    Layer l;
    for (const auto& d : spec.at("may_include")) l.may_include.insert(d.get<std::string>());
    for (const auto& r : spec.at("forbid_system")) l.forbid_system.emplace_back(r.get<std::string>());
    t.layers.emplace(name, std::move(l));
  }
  for (const auto& n : j.at("not_layers")) t.not_layers.push_back(n.get<std::string>());
  return t;
}

bool is_source(const fs::path& p) {
  const auto e = p.extension();
  return e == ".cpp" || e == ".hpp" || e == ".h" || e == ".cc";
}

// The folder (relative to root) a quoted include names: the including
// file's own folder first, then the two include roots every target uses
// (the project root, and engine/ for the engine's libraries).
std::string resolve(const fs::path& root, const fs::path& including_dir, const std::string& header) {
  for (const fs::path& base : {including_dir, root, root / "engine"}) {
    const fs::path candidate = (base / header).lexically_normal();
    if (fs::exists(candidate)) return candidate.parent_path().lexically_relative(root).generic_string();
  }
  return {};
}

// Every violation in the tree at `root`, as one readable line each.
std::vector<std::string> violations(const fs::path& root) {
  const Table table = load_table(root / "tests/architecture/layers.json");
  const std::regex include(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path rel = it->path().lexically_relative(root);
    const std::string top = rel.begin()->string();
    if (it->is_directory() &&
        (top.front() == '.' || top.rfind("build", 0) == 0 ||
         std::find(table.not_layers.begin(), table.not_layers.end(), top) != table.not_layers.end())) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !is_source(it->path())) continue;
    const std::string folder = rel.parent_path().generic_string();
    const auto layer = table.layers.find(folder);
    if (layer == table.layers.end()) {
      out.push_back(rel.generic_string() + ": folder '" + folder + "' is not in tests/architecture/layers.json");
      continue;
    }
    std::ifstream in(it->path());
    std::string line;
    int number = 0;
    std::smatch m;
    while (std::getline(in, line)) {
      ++number;
      if (!std::regex_search(line, m, include)) continue;
      const std::string where = rel.generic_string() + ":" + std::to_string(number) + ": ";
      const std::string header = m[2];
      if (m[1] == "<") {
        for (const auto& r : layer->second.forbid_system)
          if (std::regex_search(header, r)) out.push_back(where + folder + " must not include <" + header + ">");
        continue;
      }
      const std::string target = resolve(root, it->path().parent_path(), header);
      if (target.empty()) {
        out.push_back(where + "cannot resolve \"" + header + "\"");
        continue;
      }
      const auto& allowed = layer->second.may_include;
      if (target == folder || allowed.count("*") || allowed.count(target)) continue;
      out.push_back(where + folder + " may not include " + target + " (\"" + header + "\")");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::ostringstream s;
  for (const auto& l : lines) s << "  " << l << "\n";
  return s.str();
}

TEST(Layering, TheTreeFollowsTheTable) {
  const auto found = violations(BEAMFLOW_SOURCE_DIR);
  EXPECT_TRUE(found.empty()) << found.size() << " layering violation(s):\n" << joined(found);
}

// The check itself: a tree with one allowed and four forbidden includes,
// nested two folders deep, and a folder nobody declared.
TEST(Layering, FindsForbiddenIncludesUnknownFoldersAndForbiddenSystemHeaders) {
  beamflow::test::ScratchDir scratch("beamflow-layering-");
  const fs::path root = scratch.path();
  fs::create_directories(root / "tests/architecture");
  fs::copy_file(fs::path(BEAMFLOW_SOURCE_DIR) / "tests/architecture/layers.json",
                root / "tests/architecture/layers.json");
  auto write = [&](const std::string& rel, const std::string& text) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  };
  write("engine/core/error.hpp", "#pragma once\n");
  write("kernels/common/views.hpp", "#pragma once\n");
  write("jobs/models/runtime.hpp", "#pragma once\n");
  write("kernels/tomo/ok.cpp", "#include \"kernels/common/views.hpp\"\n");
  write("kernels/tomo/bad.cpp", "#include \"core/error.hpp\"\n#include <nlohmann/json.hpp>\n");
  write("engine/core/up.cpp", "#include \"jobs/models/runtime.hpp\"\n#include <mpi.h>\n");
  write("kernels/extra/new.cpp", "#include \"kernels/common/views.hpp\"\n");
  const auto found = violations(root);
  ASSERT_EQ(found.size(), 5u) << joined(found);
  EXPECT_NE(found[0].find("engine/core/up.cpp:1: engine/core may not include jobs/models"), std::string::npos);
  EXPECT_NE(found[1].find("engine/core/up.cpp:2: engine/core must not include <mpi.h>"), std::string::npos);
  EXPECT_NE(found[2].find("folder 'kernels/extra' is not in"), std::string::npos);
  EXPECT_NE(found[3].find("kernels/tomo/bad.cpp:1: kernels/tomo may not include engine/core"), std::string::npos);
  EXPECT_NE(found[4].find("kernels/tomo must not include <nlohmann/json.hpp>"), std::string::npos);
}

}  // namespace
