// abort: kills the process it runs in (SIGABRT), for testing crash handling
// (a pilot counts the crashes a task causes: pilot/crashes.hpp). It is an
// instant in-process action, so a pilot runs it inline on a worker rank,
// whose process it takes down, as a crashing kernel would. With
// {"hang": true} it never returns instead (a task stuck in its code: the
// rank falls silent and is lost by heartbeat).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"

namespace beamflow::actions {
namespace {

class AbortAction final : public SyncAction {
 public:
  AbortAction()
      : SyncAction("abort",
                   "Kills the process it runs in (SIGABRT, no core file), or with hang never returns: for "
                   "testing crash handling. Never use it in a real flow.",
                   Effects::None,
                   InputSpec({Field::of(FieldType::Boolean, "hang",
                                        "never return (sleeping) instead of killing the process")},
                             /*additional_properties=*/true)) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    if (r.input.value("hang", false))
      for (;;) ::pause();  // no signal handler returns here: the thread stays
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // a test's crash, not a bug to debug
    std::abort();
  }
};

}  // namespace

std::shared_ptr<Action> make_abort_action() { return std::make_shared<AbortAction>(); }

}  // namespace beamflow::actions
