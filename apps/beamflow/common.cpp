#include "apps/beamflow/common.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "core/error.hpp"
#include "core/json_parse.hpp"

namespace beamflow::cli {

Json load_json_file(const std::string& path, const std::string& what) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error("cli.file_missing", states_error::Runtime, what + " file not found or not a regular file",
                  {{"file", path}});
    if (std::filesystem::file_size(path, ec) > kMaxDocumentBytes)
      throw Error("cli.file_too_large", states_error::DataLimitExceeded,
                  what + " file is larger than " + std::to_string(kMaxDocumentBytes >> 20) + " MiB", {{"file", path}});
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cli.file_missing", states_error::Runtime, what + " file cannot be opened", {{"file", path}});
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (text.size() > kMaxDocumentBytes)
    throw Error("cli.file_too_large", states_error::DataLimitExceeded, what + " is too large", {{"file", path}});
  try {
    // Depth-limited while parsing (json.too_deep names the file and the limit).
    return parse_json_keep_syntax_errors(text, path == "-" ? "stdin" : path);
  } catch (const Json::parse_error& e) {
    // Locate the byte offset as line:column for people.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < std::min(e.byte > 0 ? e.byte - 1 : 0, text.size()); ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string msg = e.what();
    if (auto p = msg.find("syntax error"); p != std::string::npos) msg = msg.substr(p);
    throw Error("cli.bad_json", states_error::Runtime,
                what + " is not valid JSON: " + msg,
                {{"file", path}, {"line", std::to_string(line)}, {"column", std::to_string(col)}});
  }
}

void add_runs_dir_option(po::options_description& options) {
  options.add_options()("runs-dir", po::value<std::string>(),
                        "directory holding run directories (default: $BEAMFLOW_HOME/runs, BEAMFLOW_HOME defaults to ./.beamflow)");
}

std::optional<std::string> runs_dir_option(const po::variables_map& vm) {
  if (vm.count("runs-dir")) return vm["runs-dir"].as<std::string>();
  return std::nullopt;
}

}  // namespace beamflow::cli
