#include <gtest/gtest.h>

#include "actions/action.hpp"
#include "actions/builtins.hpp"
#include "core/error.hpp"

namespace beamflow::actions {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { register_builtin_actions(registry); }
  std::string resolved(const std::string& resource) {
    Action* a = registry.resolve(resource);
    return a ? a->info().name : "<none>";
  }
  ActionRegistry registry;
};

TEST_F(RegistryTest, RegistersTheNineBuiltinsSortedByName) {
  std::vector<std::string> names;
  for (const auto* info : registry.list()) names.push_back(info->name);
  EXPECT_EQ(names, (std::vector<std::string>{"abort", "add", "approve", "command", "echo", "fail", "flaky",
                                             "provenance", "sleep"}));
}

TEST_F(RegistryTest, EveryBuiltinDeclaresDescriptionAndSchema) {
  for (const auto* info : registry.list()) {
    SCOPED_TRACE(info->name);
    EXPECT_FALSE(info->description.empty());
    EXPECT_TRUE(info->input_schema.is_object());
    if (info->name != "echo") {
      EXPECT_EQ(info->input_schema.value("type", ""), "object");
    }
  }
  EXPECT_EQ(registry.resolve("command")->info().input_schema["required"], Json::array({"argv"}));
  EXPECT_EQ(registry.resolve("sleep")->info().input_schema["properties"]["seconds"]["minimum"], 0);
}

TEST_F(RegistryTest, DeclaresTimingAndSideEffects) {
  auto info = [&](const char* n) { return registry.resolve(n)->info(); };
  EXPECT_TRUE(info("echo").synchronous);
  EXPECT_FALSE(info("echo").side_effects);
  EXPECT_TRUE(info("flaky").synchronous);
  EXPECT_TRUE(info("flaky").side_effects);
  EXPECT_FALSE(info("sleep").synchronous);
  EXPECT_FALSE(info("command").synchronous);
  EXPECT_TRUE(info("command").side_effects);
  EXPECT_FALSE(info("approve").synchronous);
}

TEST_F(RegistryTest, ResolvesExactAndPrefixedNames) {
  EXPECT_EQ(resolved("echo"), "echo");
  EXPECT_EQ(resolved("beamflow:add"), "add");
  EXPECT_EQ(resolved("beamflow:nope"), "<none>");
  EXPECT_EQ(resolved("Echo"), "<none>");  // names are case-sensitive
  EXPECT_EQ(resolved(""), "<none>");
}

TEST_F(RegistryTest, ResolvesArnsByTheirLastSegment) {
  EXPECT_EQ(resolved("arn:aws:lambda:us-east-1:123456789012:function:echo"), "echo");
  EXPECT_EQ(resolved("arn:beamflow:action:::command"), "command");
  // Step Functions service integrations name AWS APIs, never our actions,
  // even if an action happened to share the last segment.
  EXPECT_EQ(resolved("arn:aws:states:::lambda:invoke"), "<none>");
  EXPECT_EQ(resolved("arn:aws:states:::echo"), "<none>");
  EXPECT_EQ(resolved("arn:aws:lambda:us-east-1:1:function:unknown"), "<none>");
  EXPECT_EQ(resolved("arn:echo"), "<none>");  // not an ARN
}

TEST_F(RegistryTest, ResolvesUrlsByTheirLastPathSegment) {
  EXPECT_EQ(resolved("https://actions.example.org/beamflow/sleep"), "sleep");
  EXPECT_EQ(resolved("https://actions.example.org/beamflow/sleep/"), "sleep");
  EXPECT_EQ(resolved("http://host:8080/approve?x=1#frag"), "approve");
  EXPECT_EQ(resolved("https://echo"), "<none>");  // a host is not a path segment
  EXPECT_EQ(resolved("https://host/"), "<none>");
  EXPECT_EQ(resolved("https://host/unknown"), "<none>");
}

TEST_F(RegistryTest, AliasesTakePrecedence) {
  registry.alias("https://transfer.example.org/v1", "command");
  registry.alias("echo", "add");
  registry.alias("beamflow:gone", "missing");
  EXPECT_EQ(resolved("https://transfer.example.org/v1"), "command");
  EXPECT_EQ(resolved("echo"), "add");
  EXPECT_EQ(resolved("beamflow:gone"), "<none>");
}

TEST_F(RegistryTest, RefusesDuplicateAndBadNames) {
  try {
    registry.add(make_echo_action());
    FAIL() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), "action.registry");
    EXPECT_STREQ(e.what(), "[action.registry] an action with this name is already registered (action=echo)");
  }
  EXPECT_THROW(registry.add(nullptr), Error);
}

TEST_F(RegistryTest, RefusesNamesThatCannotBeResolved) {
  class Named final : public Action {
   public:
    explicit Named(std::string name) { m_info.name = std::move(name); }
    const ActionInfo& info() const override { return m_info; }
    ActionState run(const ActionRequest& r) override { return ActionState::succeeded(r.action_id, {}); }
    ActionState status(const ActionRequest& r) override { return run(r); }
    ActionState cancel(const ActionRequest& r) override { return run(r); }

   private:
    ActionInfo m_info;
  };
  try {
    registry.add(std::make_shared<Named>("a:b"));
    FAIL() << "bad name accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "[action.registry] action names must be non-empty and contain no ':' or '/' (action=a:b)");
  }
  EXPECT_THROW(registry.add(std::make_shared<Named>("")), Error);
  registry.add(std::make_shared<Named>("mine"));
  EXPECT_EQ(resolved("beamflow:mine"), "mine");
}

}  // namespace
}  // namespace beamflow::actions
