// flaky: fails its first N attempts within a run, then succeeds. For testing
// Retry; its attempt counter is per (run, state) and survives crashes.
#include <algorithm>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/durable.hpp"

namespace beamflow::actions {
namespace {

std::string hex(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (const unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

class FlakyAction final : public SyncAction {
 public:
  FlakyAction()
      : SyncAction("flaky",
                   "Fails with input.error on the first input.failures attempts of its state within "
                   "a run, then succeeds with {\"attempts\": n}.",
                   Effects::Observable,
                   InputSpec({Field::of(FieldType::Integer, "failures",
                                        "attempts that fail before one succeeds; default 1")
                                  .at_least(0),
                              Field::of(FieldType::String, "error",
                                        "ASL error name of the failures; default \"Flaky.Error\"")
                                  .not_empty()})) {}

 protected:
  // The counter file lists the action ids that have counted as attempts, so
  // a crash between counting and recording the outcome cannot count one
  // action_id twice; result.json in state_dir then pins the outcome.
  ActionState compute(const ActionRequest& r) override {
    if (auto done = durable::load_result(r.state_dir, r.action_id)) return *done;
    const auto dir = r.run_dir / "flaky";
    std::filesystem::create_directories(dir);
    const auto counter = dir / hex(r.state_name);
    std::size_t attempt = 0;
    {
      const auto lock = durable::lock_wait(counter.string() + ".lock");
      Json record = durable::read_json(counter).value_or(
          Json{{"state", r.state_name}, {"action_ids", Json::array()}});
      auto& ids = record["action_ids"];
      const auto it = std::find(ids.begin(), ids.end(), Json(r.action_id));
      attempt = static_cast<std::size_t>(it - ids.begin()) + 1;
      if (it == ids.end()) {
        ids.push_back(r.action_id);
        durable::write_json(counter, record);
      }
    }
    const auto failures = r.input.value("failures", 1LL);
    if (static_cast<long long>(attempt) <= failures) {
      return durable::save_result(
          r.state_dir, ActionState::failed(r.action_id, r.input.value("error", "Flaky.Error"),
                                           "flaky: attempt " + std::to_string(attempt) + " of " +
                                               std::to_string(failures) + " planned failures"));
    }
    return durable::save_result(
        r.state_dir, ActionState::succeeded(r.action_id, {{"attempts", attempt}}));
  }
};

}  // namespace

std::shared_ptr<Action> make_flaky_action() { return std::make_shared<FlakyAction>(); }

}  // namespace beamflow::actions
