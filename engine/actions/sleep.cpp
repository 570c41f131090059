// sleep: an asynchronous timer. The deadline is recorded durably on the first
// run(), so an engine that restarts keeps waiting for the same moment.
#include <algorithm>
#include <cmath>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/durable.hpp"

namespace beamflow::actions {
namespace {

using std::chrono::milliseconds;

class SleepAction final : public BuiltinAction {
 public:
  SleepAction()
      : BuiltinAction("sleep", "Waits input.seconds, then succeeds with {\"slept\": seconds}.",
                      Timing::Asynchronous, Effects::None,
                      InputSpec({Field::of(FieldType::Number, "seconds", "how long to wait")
                                     .mandatory()
                                     .at_least(0)
                                     .at_most(1e9)})) {}

  ActionState run(const ActionRequest& r) override {
    return checked(r, [&] {
      if (auto done = durable::load_result(r.state_dir, r.action_id)) return *done;
      const auto file = r.state_dir / "sleep.json";
      auto timer = durable::read_json(file);
      if (!timer) {
        const Json& seconds = r.input.at("seconds");
        const auto wait = milliseconds(std::llround(seconds.get<double>() * 1000.0));
        timer = Json{{"seconds", seconds},
                     {"deadline_ms", durable::epoch_ms(Clock::now() + wait)}};
        durable::write_json(file, *timer);
      }
      const auto deadline = durable::from_epoch_ms(timer->at("deadline_ms").get<long long>());
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left <= milliseconds(0)) {
        return durable::save_result(
            r.state_dir, ActionState::succeeded(r.action_id, {{"slept", timer->at("seconds")}}));
      }
      return ActionState::active(r.action_id, std::clamp(left, milliseconds(1), milliseconds(1000)),
                                 {{"wake_at", durable::rfc3339(deadline)}});
    });
  }

  ActionState status(const ActionRequest& r) override { return run(r); }

  // Only waits: needs no rank of a pilot (Placement::ranks).
  Placement placement(const ActionRequest&) const override {
    Placement p;
    p.ranks = 0;
    return p;
  }

  ActionState cancel(const ActionRequest& r) override {
    return checked(r, [&] {
      if (auto done = durable::load_result(r.state_dir, r.action_id)) return *done;
      return durable::save_result(r.state_dir, cancelled(r, "sleep cancelled"));
    });
  }
};

}  // namespace

std::shared_ptr<Action> make_sleep_action() { return std::make_shared<SleepAction>(); }

}  // namespace beamflow::actions
