#pragma once
// A scratch folder with a source and a destination endpoint, helpers to
// write files of known content and to run a transfer on one rank.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>

#include "../support/expect_error.hpp"
#include "../support/process.hpp"
#include "../support/scratch_dir.hpp"
#include "core/error.hpp"
#include "jobs/transfer/transfer.hpp"

namespace beamflow::transfer::testing {

namespace stdfs = std::filesystem;

inline std::string slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Deterministic bytes: `size` of them from `seed`.
inline std::string bytes(std::size_t size, unsigned seed) {
  std::mt19937_64 g(seed);
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const auto v = g();
    for (std::size_t k = 0; k < 8 && i + k < size; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

inline void put(const stdfs::path& p, const std::string& content) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// Output of a shell command (sha256sum, xxhsum).
inline std::string shell(const std::string& command) { return test::run_shell(command).out; }

// Every path (relative) under `root`, files and folders, sorted.
inline std::vector<std::string> tree(const stdfs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec); it != stdfs::recursive_directory_iterator(); ++it)
    out.push_back(stdfs::relative(it->path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src = dir.path() / "src";
    dst = dir.path() / "dst";
    state = dir.path() / "state";
    stdfs::create_directories(src);
    stdfs::create_directories(dst);
    endpoints = Endpoints::from_json(
        Json{{"endpoints",
              {{{"name", "beamline"}, {"path", src.string()}, {"read", true}, {"write", false}},
               {{"name", "compute"}, {"path", dst.string()}, {"read", true}, {"write", true}}}}},
        dir.path());
  }

  Json request(Json items, Json extra = Json::object()) const {
    Json r{{"source_endpoint", "beamline"}, {"destination_endpoint", "compute"}, {"transfer_items", items}};
    for (const auto& [k, v] : extra.items()) r[k] = v;
    return r;
  }
  static Json item(const std::string& s, const std::string& d, bool recursive = false) {
    return Json{{"source_path", s}, {"destination_path", d}, {"recursive", recursive}};
  }

  Json run(const Json& r, const stdfs::path& state_dir = {}) const {
    TransferOptions options;
    options.state_dir = state_dir.empty() ? state : state_dir;
    return run_transfer(parse_request(r), endpoints, parallel::Comm::serial(), options).document;
  }

  test::ScratchDir dir{"beamflow-transfer-"};
  stdfs::path src, dst, state;
  Endpoints endpoints;
};

}  // namespace beamflow::transfer::testing
