// `beamflow transfer` end to end: the real binary, on 1 and 2 MPI ranks
// (mpirun), killed with SIGKILL half-way and resumed on another rank count,
// and every bad input an error with a stable id, exit code and no file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cli_fixture.hpp"
#include "jobs/transfer/manifest.hpp"

namespace beamflow::transfer::testing {
namespace {

// One rank without a launcher never starts MPI (parallel::ParallelRuntime,
// the runtime of every command: no MPI singleton start); under mpirun it does.
// BEAMFLOW_TRACE_START=1 makes the runtime say so on stderr.
TEST_F(CliTest, OneAndTwoRanksGiveTheChecksumsOfSha256sum) {
  ::setenv("BEAMFLOW_TRACE_START", "1", 1);
  struct Unset {
    ~Unset() { ::unsetenv("BEAMFLOW_TRACE_START"); }
  } unset;
  for (int i = 0; i < 40; ++i) put(src / "scan" / ("d" + std::to_string(i % 4)) / ("f" + std::to_string(i)), bytes(1000 + 997 * i, i));
  put(src / "scan/big", bytes(3'000'000, 99));
  Json checksums;
  for (int ranks : {1, 2}) {
    const Json req = request(Json::array({item("scan", "r" + std::to_string(ranks), true)}),
                             {{"checksum_algorithm", "sha256"}, {"chunk_size", 1 << 20}});
    const Ran r = transfer(req, ranks, "state" + std::to_string(ranks));
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    const std::string mpi = " mpi=" + std::to_string(ranks > 1 ? 1 : 0) + " ";
    EXPECT_NE(r.err.find("beamflow-start "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(mpi), std::string::npos) << ranks << " ranks: " << r.err;
    const Json s = Json::parse(r.out);
    EXPECT_EQ(s["ranks"], ranks);
    EXPECT_EQ(s["files_copied"], 41);
    ASSERT_EQ(s["checksums"].size(), 41u);
    for (const auto& [path, ck] : s["checksums"].items()) {
      EXPECT_EQ(ck, "sha256:" + shell("sha256sum " + (dst / path).string()).substr(0, 64)) << path;
      EXPECT_EQ(slurp(dst / path), slurp(src / ("scan" + path.substr(path.find('/'))))) << path;
    }
  }
  // Both ranks wrote: each has its own journal with the records of its files.
  EXPECT_TRUE(stdfs::exists(dir.path() / "state2/journal-r1.log"));
  EXPECT_FALSE(slurp(dir.path() / "state2/journal-r1.log").empty());
}

TEST_F(CliTest, KilledOnOneRankResumedOnTwo) {
  put(src / "big", bytes(16 << 20, 5));
  put(src / "big2", bytes(8 << 20, 6));
  const Json req = request(Json::array({item("big", "big"), item("big2", "big2")}), {{"chunk_size", 16384}});
  const pid_t pid = spawn(argv(req, 1, "state"), dir.path() / "o", dir.path() / "e");
  auto chunks = [&] {
    std::size_t n = 0;
    for (const auto& r : parse_journal(slurp(dir.path() / "state/journal-r0.log"))) n += r["t"] == "c";
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (chunks() < 300 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "finished before the kill";
  const std::size_t at_kill = chunks();
  EXPECT_FALSE(stdfs::exists(dst / "big"));
  const Ran r = transfer(req, 2);
  ASSERT_EQ(r.code, 0) << r.err;
  const Json s = Json::parse(r.out);
  EXPECT_EQ(s["chunks_resumed"], at_kill);
  EXPECT_EQ(s["chunks_copied"].get<std::size_t>() + at_kill, (24u << 20) / 16384);
  EXPECT_EQ(slurp(dst / "big"), slurp(src / "big"));
  EXPECT_EQ(slurp(dst / "big2"), slurp(src / "big2"));
}

TEST_F(CliTest, BadInputsExitWithTheirIdAndWriteNothing) {
  put(src / "f", "f");
  put(dir.path() / "secret", "s");
  stdfs::create_symlink("../secret", src / "out");
  struct Case {
    Json request;
    std::string id;
    int code;
  };
  Json unknown = request(Json::array({item("f", "f")}));
  unknown["destination_endpoint"] = "archive";
  Json reversed = request(Json::array({item("f", "f")}));
  std::swap(reversed["source_endpoint"], reversed["destination_endpoint"]);
  const std::vector<Case> cases{
      {unknown, "transfer.endpoint.unknown", 2},
      {request(Json::array({item("f", "../f")})), "transfer.path.escapes", 1},
      {request(Json::array({item("/etc/passwd", "f")})), "transfer.path.escapes", 1},
      {request(Json::array({item("out", "f")})), "transfer.path.escapes", 1},
      {request(Json::array({item("nothing", "f")})), "transfer.source.missing", 1},
      {reversed, "transfer.endpoint.read_only", 1},
      {request(Json::array({item("f", "f")}), {{"sync_level", "sometimes"}}), "transfer.request.invalid", 2},
  };
  int n = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    for (int ranks : {1, 2}) {
      if (ranks == 2 && i % 3 != 0) continue;  // mpirun costs a second or two: a sample of the cases
      const Ran r = transfer(c.request, ranks, "s" + std::to_string(++n));
      EXPECT_EQ(r.code, c.code) << c.id << " on " << ranks << ": " << r.err;
      EXPECT_NE(r.err.find("[" + c.id + "]"), std::string::npos) << r.err;
      EXPECT_EQ(Json::parse(r.out)["error"], c.id) << r.out;
    }
  }
  put(dir.path() / "request.json", "{\"source_endpoint\": ");
  const auto out = dir.path() / "o", err = dir.path() / "e";
  std::vector<std::string> a{binary(), "transfer", "--endpoints", endpoints_file.string(), "--request",
                             (dir.path() / "request.json").string()};
  int status = 0;
  ::waitpid(spawn(a, out, err), &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(slurp(err).find("[transfer.request.invalid]"), std::string::npos) << slurp(err);
  EXPECT_NE(slurp(err).find("not valid JSON"), std::string::npos) << slurp(err);
  ::waitpid(spawn({binary(), "transfer", "--endpoints", endpoints_file.string()}, out, err), &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 2) << slurp(err);
  EXPECT_TRUE(tree(dst).empty());
  EXPECT_EQ(slurp(src / "f"), "f");
}

// Issue 9 §3: JSON nested 100,000 deep (a request, an endpoints file, the
// state folder's request.json) is refused by the depth-limited parser with
// the place's own error id and exit code: no crash, nothing written.
TEST_F(CliTest, DeeplyNestedJsonIsAClearErrorNotACrash) {
  put(src / "f", "f");
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const auto out = dir.path() / "o", err = dir.path() / "e";
  auto run = [&](const stdfs::path& endpoints, const stdfs::path& request, const std::string& state) {
    int status = 0;
    ::waitpid(spawn({binary(), "transfer", "--endpoints", endpoints.string(), "--request", request.string(),
                     "--state-dir", (dir.path() / state).string(), "--json"},
                    out, err),
              &status, 0);
    EXPECT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  auto expect_refused = [&](int code, int expected, const std::string& id, const std::string& file) {
    EXPECT_EQ(code, expected) << slurp(err);
    EXPECT_NE(slurp(err).find("[" + id + "]"), std::string::npos) << slurp(err);
    EXPECT_NE(slurp(err).find("nests deeper than 512 levels"), std::string::npos) << slurp(err);
    const Json doc = Json::parse(slurp(out));
    EXPECT_EQ(doc["error"], id) << doc;
    EXPECT_NE(doc.dump().find(file), std::string::npos) << doc;
    EXPECT_TRUE(tree(dst).empty());
  };
  const auto good_request = dir.path() / "good.json", deep_file = dir.path() / "deep.json";
  put(good_request, request(Json::array({item("f", "f")})).dump());
  put(deep_file, deep);

  expect_refused(run(endpoints_file, deep_file, "s1"), 2, "transfer.request.invalid", deep_file.string());
  EXPECT_FALSE(stdfs::exists(dir.path() / "s1"));
  expect_refused(run(deep_file, good_request, "s2"), 2, "transfer.endpoints.invalid", deep_file.string());
  EXPECT_FALSE(stdfs::exists(dir.path() / "s2"));
  // A state folder whose request.json was replaced: the manifest is refused, nothing copied.
  put(dir.path() / "s3" / "request.json", deep);
  expect_refused(run(endpoints_file, good_request, "s3"), 1, "transfer.manifest.corrupt",
                 (dir.path() / "s3" / "request.json").string());
  EXPECT_EQ(slurp(dir.path() / "s3" / "request.json"), deep);
  // The same request with a sound state folder goes through.
  EXPECT_EQ(run(endpoints_file, good_request, "s4"), 0) << slurp(err);
  EXPECT_EQ(slurp(dst / "f"), "f");
}

}  // namespace
}  // namespace beamflow::transfer::testing
