#include "run/executor.hpp"

#include "actions/child.hpp"
#include "actions/supervised.hpp"

namespace beamflow::run {

void InProcessExecutor::cancel(TaskHandle, actions::Action& a, const actions::ActionRequest& r, const actions::Placement&) {
  try {
    // Never wait here: an action whose cancel() waits for its supervised
    // process (`command`) is only asked to stop; its supervisor records the
    // outcome.
    if (auto* s = dynamic_cast<actions::supervised::CancelsSupervised*>(&a)) s->request_cancel(r);
    else a.cancel(r);
  } catch (const std::exception&) {
    // best effort: the action may already be gone
  }
}

void InProcessExecutor::release(TaskHandle, actions::Action& a, const actions::ActionRequest& r, const actions::Placement&) {
  try {
    a.release(r);
  } catch (const std::exception&) {
    // release frees resources; a failure there must not fail the run
  }
}

actions::ActionState ChildProcessExecutor::start(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                                                 const actions::Placement& p) {
  return actions::child::drive(a.info().name, r, p);
}

actions::ActionState ChildProcessExecutor::poll(TaskHandle, actions::Action& a, const actions::ActionRequest& r,
                                                const actions::Placement& p) {
  return actions::child::drive(a.info().name, r, p);
}

void ChildProcessExecutor::cancel(TaskHandle, actions::Action&, const actions::ActionRequest& r, const actions::Placement&) {
  try {
    actions::child::request_cancel(r);  // asks and returns: the loop never waits
  } catch (const std::exception&) {
    // best effort, as for an in-process action
  }
}

}  // namespace beamflow::run
