// ActionRequest's directories (actions::SharedPath): copies of a request
// share one text, a path is parsed only when read as one, and it reads as a
// std::filesystem::path wherever the actions take one.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "actions/action.hpp"

namespace beamflow::actions {
namespace {

namespace stdfs = std::filesystem;

TEST(SharedPathTest, CopiesOfARequestShareTheirDirectories) {
  ActionRequest r;
  r.state_dir = std::string("/p/runs/run-1/actions/a0123456789abcdef0123456789abcdef");
  r.run_dir = stdfs::path("/p/runs/run-1");
  r.work_dir = "/home/u";
  const ActionRequest copy = r;
  // One text for both: a copy is a pointer, not a string or a parsed path.
  EXPECT_EQ(&copy.state_dir.native(), &r.state_dir.native());
  EXPECT_EQ(&copy.run_dir.native(), &r.run_dir.native());
  EXPECT_EQ(&copy.work_dir.native(), &r.work_dir.native());
  EXPECT_EQ(&copy.state_dir.path(), &r.state_dir.path());  // parsed once, for all copies
  EXPECT_EQ(copy.state_dir, r.state_dir);
}

TEST(SharedPathTest, ReadsAsAFilesystemPath) {
  const SharedPath p(std::string("/p/runs/run-1/actions/x"));
  const stdfs::path& as_path = p;
  EXPECT_EQ(as_path, stdfs::path("/p/runs/run-1/actions/x"));
  EXPECT_EQ(p / "result.json", stdfs::path("/p/runs/run-1/actions/x/result.json"));
  EXPECT_EQ(p.parent_path(), stdfs::path("/p/runs/run-1/actions"));
  EXPECT_EQ(p.string(), "/p/runs/run-1/actions/x");
  EXPECT_STREQ(p.c_str(), "/p/runs/run-1/actions/x");
  std::ostringstream os;
  os << p;
  EXPECT_EQ(os.str(), "\"/p/runs/run-1/actions/x\"");  // as a path prints
  EXPECT_FALSE(p.empty());
}

TEST(SharedPathTest, EmptyByDefaultAndFromEmptyText) {
  const SharedPath none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.native(), "");
  EXPECT_TRUE(none.path().empty());
  EXPECT_EQ(none / "x", stdfs::path("x"));
  EXPECT_EQ(SharedPath(std::string()), none);
  // request_from_json reads a missing state_dir as empty.
  const ActionRequest r = request_from_json(
      Json{{"action_id", "a"}, {"input", Json::object()}, {"run_id", "r"}, {"state_name", "S"}, {"attempt", 0},
           {"run_dir", "/p/runs/r"}, {"work_dir", ""}});
  EXPECT_TRUE(r.state_dir.empty());
  EXPECT_TRUE(r.work_dir.empty());
  EXPECT_EQ(r.run_dir.native(), "/p/runs/r");
}

TEST(SharedPathTest, ThreadsReadingOneCopyGetOneParsedPath) {
  const SharedPath p(std::string("/p/runs/run-1/actions/y"));
  std::vector<const stdfs::path*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&, i] { seen[i] = &p.path(); });
  for (auto& t : threads) t.join();
  for (const auto* s : seen) EXPECT_EQ(s, seen.front());
  EXPECT_EQ(*seen.front(), stdfs::path("/p/runs/run-1/actions/y"));
}

TEST(SharedPathTest, RoundTripsThroughARequestsJson) {
  ActionRequest r;
  r.action_id = "a";
  r.input = Json{{"k", 1}};
  r.run_id = "run-1";
  r.state_name = "E";
  r.attempt = 2;
  r.state_dir = stdfs::path("/p/runs/run-1/actions/a");
  r.run_dir = "/p/runs/run-1";
  r.work_dir = "/home/u";
  const Json j = to_json(r);
  EXPECT_EQ(j.at("state_dir"), "/p/runs/run-1/actions/a");
  const ActionRequest back = request_from_json(j);
  EXPECT_EQ(back.state_dir, r.state_dir);
  EXPECT_EQ(back.run_dir, r.run_dir);
  EXPECT_EQ(back.work_dir, r.work_dir);
  EXPECT_EQ(back.attempt, 2);
}

}  // namespace
}  // namespace beamflow::actions
