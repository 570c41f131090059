// The pure built-ins: echo, fail, add. No side effects, so after a crash the
// engine simply runs them again.
#include <cstdint>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"

namespace beamflow::actions {
namespace {

class EchoAction final : public SyncAction {
 public:
  EchoAction()
      : SyncAction("echo", "Succeeds with its input, unchanged.", Effects::None, InputSpec::any()) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    return ActionState::succeeded(r.action_id, r.input);
  }
};

class FailAction final : public SyncAction {
 public:
  FailAction()
      : SyncAction("fail", "Fails with the given error name and cause (for testing Retry and Catch).",
                   Effects::None,
                   InputSpec({Field::of(FieldType::String, "Error", "ASL error name; default \"Fail.Error\"")
                                  .not_empty(),
                              Field::of(FieldType::String, "Cause",
                                        "human-readable cause; default \"fail action called\"")})) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    return ActionState::failed(r.action_id, r.input.value("Error", "Fail.Error"),
                               r.input.value("Cause", "fail action called"));
  }
};

class AddAction final : public SyncAction {
 public:
  AddAction()
      : SyncAction("add", "Succeeds with input.a + input.b.", Effects::None,
                   InputSpec({Field::of(FieldType::Number, "a").mandatory(),
                              Field::of(FieldType::Number, "b").mandatory()})) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    const Json& a = r.input.at("a");
    const Json& b = r.input.at("b");
    if (a.is_number_integer() && b.is_number_integer()) {
      // Unsigned values above INT64_MAX and overflowing sums fall through to
      // floating point rather than wrapping.
      const bool fits = !(a.is_number_unsigned() && a.get<std::uint64_t>() > INT64_MAX) &&
                        !(b.is_number_unsigned() && b.get<std::uint64_t>() > INT64_MAX);
      std::int64_t sum = 0;
      if (fits && !__builtin_add_overflow(a.get<std::int64_t>(), b.get<std::int64_t>(), &sum)) {
        return ActionState::succeeded(r.action_id, sum);
      }
    }
    return ActionState::succeeded(r.action_id, a.get<double>() + b.get<double>());
  }
};

}  // namespace

std::shared_ptr<Action> make_echo_action() { return std::make_shared<EchoAction>(); }
std::shared_ptr<Action> make_fail_action() { return std::make_shared<FailAction>(); }
std::shared_ptr<Action> make_add_action() { return std::make_shared<AddAction>(); }

}  // namespace beamflow::actions
