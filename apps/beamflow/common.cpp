#include "apps/beamflow/common.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "core/error.hpp"
#include "core/json_parse.hpp"

namespace beamflow::cli {

namespace {

// Bytes of a bad document quoted in a message, made printable (a message
// must stay valid UTF-8 to be printed as JSON).
std::string printable(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// cli.bad_json naming the file and the line and column of byte `offset`.
Error bad_json(const std::string& path, const std::string& what, const std::string& why, const std::string& text,
               std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < std::min(offset, text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return Error("cli.bad_json", states_error::Runtime, what + " is not valid JSON: " + printable(why),
               {{"file", path}, {"line", std::to_string(line)}, {"column", std::to_string(col)}});
}

}  // namespace

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
    std::string msg = e.what();
    if (auto p = msg.find("syntax error"); p != std::string::npos) msg = msg.substr(p);
    throw bad_json(path, what, msg, text, e.byte > 0 ? e.byte - 1 : 0);
  } catch (const Json::exception& e) {
    // A number beyond a double ("1e999"): nlohmann names the literal, not
    // where it is; find it.
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    std::size_t offset = text.size();
    if (auto q = msg.find('\''), r = msg.rfind('\''); q != std::string::npos && r > q)
      offset = std::min(offset, text.find(msg.substr(q + 1, r - q - 1)));
    throw bad_json(path, what, msg, text, offset);
  }
}

void add_runs_dir_option(po::options_description& options) {
  options.add_options()("runs-dir", po::value<std::string>(),
                        "directory holding run directories (default: $BEAMFLOW_HOME/runs, BEAMFLOW_HOME defaults to ./.beamflow)")(
      "pilot", po::value<std::string>(), "the runs of the pilot directory D (D/runs)");
}

std::optional<std::string> runs_dir_option(const po::variables_map& vm) {
  if (vm.count("runs-dir") && vm.count("pilot"))
    throw Error("cli.usage", states_error::Runtime, "--runs-dir and --pilot name two places: give one");
  if (vm.count("runs-dir")) return vm["runs-dir"].as<std::string>();
  if (vm.count("pilot")) return (std::filesystem::path(vm["pilot"].as<std::string>()) / "runs").string();
  return std::nullopt;
}

}  // namespace beamflow::cli
