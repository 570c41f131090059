// A flow or input file that is not JSON beamflow can take (a number beyond
// a double, invalid UTF-8) is a usage error naming the file and what is
// wrong, never an internal error; under --json the one JSON object is
// printed (issue 9, section 3).
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "process.hpp"

namespace beamflow::test {
namespace {

const char* kFlow = R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";

struct BadDocument {
  const char* name;
  std::string text;
  const char* what;  // in the message
};

const BadDocument kBad[] = {
    {"huge number", R"({"a": 1e999})", "number overflow parsing '1e999'"},
    {"invalid UTF-8", "{\"a\": \"caf\xe9\"}", "ill-formed UTF-8 byte"},
};

class BadJson : public ::testing::TestWithParam<BadDocument> {
 protected:
  TempDir dir;
  // `beamflow run` where the flow ("flow") or the input ("input") is the
  // bad document.
  ProcessResult run(const std::string& where, bool json) {
    dir.write("flow.json", where == "flow" ? GetParam().text : kFlow);
    dir.write("input.json", where == "input" ? GetParam().text : "{}");
    std::vector<std::string> args{"run", "flow.json", "--input", "input.json", "--runs-dir", "runs"};
    if (json) args.push_back("--json");
    return run_beamflow(args, dir.path());
  }
};

void expect_named(const std::string& text, const std::string& file) {
  EXPECT_NE(text.find("[cli.bad_json]"), std::string::npos) << text;
  EXPECT_NE(text.find("file=" + file), std::string::npos) << text;
  EXPECT_NE(text.find("line=1"), std::string::npos) << text;
  EXPECT_EQ(text.find("internal error"), std::string::npos) << text;
  EXPECT_EQ(text.find("json.exception"), std::string::npos) << text;
}

TEST_P(BadJson, InAFlowOrAnInputWithJson) {
  for (const std::string where : {"flow", "input"}) {
    SCOPED_TRACE(where);
    const auto r = run(where, true);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const Json doc = Json::parse(r.out);  // exactly one JSON document
    EXPECT_EQ(doc["status"], "INVALID");
    ASSERT_EQ(doc["errors"].size(), 1u) << r.out;
    EXPECT_EQ(doc["errors"][0]["id"], "cli.bad_json");
    const std::string message = doc["errors"][0]["message"];
    expect_named(message, where + ".json");
    EXPECT_NE(message.find(GetParam().what), std::string::npos) << message;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "runs")) << "an invalid input must not create a run";
  }
}

TEST_P(BadJson, InAFlowOrAnInputForPeople) {
  for (const std::string where : {"flow", "input"}) {
    SCOPED_TRACE(where);
    const auto r = run(where, false);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    expect_named(r.err, where + ".json");
    EXPECT_NE(r.err.find(GetParam().what), std::string::npos) << r.err;
  }
}

TEST_P(BadJson, ValidateListsItAsAProblem) {
  dir.write("flow.json", GetParam().text);
  auto r = run_beamflow({"validate", "flow.json", "--json"}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "INVALID");
  expect_named(doc["errors"][0]["message"], "flow.json");
  r = run_beamflow({"validate", "flow.json"}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  expect_named(r.out, "flow.json");
}

TEST_P(BadJson, ModelRunInputIsAUsageError) {
  dir.write("input.json", GetParam().text);
  const auto r =
      run_beamflow({"model", "run", "any", "--input", "input.json", "--repo", "repo", "--json"}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["error"], "cli.bad_json");
  EXPECT_EQ(doc["context"]["file"], "input.json");
  EXPECT_NE(doc["message"].get<std::string>().find(GetParam().what), std::string::npos) << r.out;
  const auto human = run_beamflow({"model", "run", "any", "--input", "input.json", "--repo", "repo"}, dir.path());
  EXPECT_EQ(human.exit_code, 2) << human.err;
  EXPECT_TRUE(human.out.empty()) << human.out;
  expect_named(human.err, "input.json");
}

INSTANTIATE_TEST_SUITE_P(Documents, BadJson, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return info.index == 0 ? "HugeNumber" : "InvalidUtf8"; });

// Every error of a command under --json is the one JSON object on stdout.
TEST(JsonErrors, BadUsageAndMissingRunsPrintOneDocument) {
  TempDir dir;
  auto r = run_beamflow({"run", "--json", "--no-such-option"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["status"], "INVALID");
  EXPECT_EQ(doc["errors"][0]["id"], "cli.usage");
  r = run_beamflow({"show", "nope", "--json", "--runs-dir", "runs"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  doc = Json::parse(r.out);
  EXPECT_EQ(doc["error"], "run.not_found");
  EXPECT_EQ(doc["context"]["run_id"], "nope");
  r = run_beamflow({"runs", "--json", "--bogus"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Json::parse(r.out)["error"], "cli.usage");
}

}  // namespace
}  // namespace beamflow::test
