// Every error id the sources throw is listed in docs/errors.md: users and
// scripts match on the ids, so an id missing from the list is an undocumented
// interface. The scan reads `Error("a.b", ...)` constructions (the id may sit
// on the next line) in the product's folders; ids built at run time are not
// seen, which is why the code spells ids as literals where it can.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "file: id" for each id thrown under `root`'s product folders and absent
// from root/docs/errors.md.
std::vector<std::string> undocumented(const fs::path& root) {
  const std::string listed = slurp(root / "docs/errors.md");
  const std::regex thrown(R"(\bError\(\s*"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\")");
  // An id is listed when it appears as a whole word: `run.io` is not listed
  // by `run.io_error`.
  const auto is_listed = [&](const std::string& id) {
    for (std::size_t at = listed.find(id); at != std::string::npos; at = listed.find(id, at + 1)) {
      const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
      const bool starts = at == 0 || !word(listed[at - 1]);
      const std::size_t end = at + id.size();
      const bool ends = end == listed.size() || !word(listed[end]) ||
                        (listed[end] == '.' && (end + 1 == listed.size() || !word(listed[end + 1])));
      if (starts && ends) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (const char* folder : {"apps", "engine", "jobs", "parallel", "io", "kernels"}) {
    if (!fs::exists(root / folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      const std::string text = slurp(entry.path());
      std::set<std::string> ids;
      for (std::sregex_iterator it(text.begin(), text.end(), thrown), end; it != end; ++it) ids.insert((*it)[1]);
      for (const auto& id : ids)
        if (!is_listed(id)) out.push_back(fs::relative(entry.path(), root).string() + ": " + id);
    }
  }
  return out;
}

TEST(ErrorIds, EveryThrownIdIsListedInDocsErrors) {
  const auto missing = undocumented(BEAMFLOW_SOURCE_DIR);
  std::string report;
  for (const auto& m : missing) report += "  " + m + "\n";
  EXPECT_TRUE(missing.empty()) << "error ids thrown but not listed in docs/errors.md:\n" << report;
}

TEST(ErrorIds, ReportsAnUnlistedIdAndAcceptsListedOnes) {
  beamflow::test::ScratchDir dir;
  fs::create_directories(dir.path() / "docs");
  fs::create_directories(dir.path() / "engine/x");
  dir.write("docs/errors.md", "| run.io | States.Runtime | ... |\n| `run.locked` |\n");
  dir.write("engine/x/a.cpp",
            "throw Error(\"run.io\", s, \"m\");\nthrow Error(\n    \"run.locked\", s);\n"
            "throw Error(\"run.io_error\", s);\nthrow Error(\"pilot.new.thing\", s);\n");
  const auto missing = undocumented(dir.path());
  EXPECT_EQ(missing, (std::vector<std::string>{"engine/x/a.cpp: pilot.new.thing", "engine/x/a.cpp: run.io_error"}));
}

}  // namespace
