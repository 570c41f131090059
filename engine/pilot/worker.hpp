#pragma once
// A worker rank of the pilot: runs the tasks the coordinator sends, each with
// the executor its placement asks for (in its own process, or as a
// supervised child process: `command`'s and own_process actions' children
// are this rank's children), polls them at the pace they ask, and reports
// every final state. It keeps nothing durable itself: a task it ran before a
// crash is sent again and re-attaches by its action id (the action
// contract). It returns after the coordinator's "stop". With a pilot
// directory, it marks the task whose code it is executing (crashes.hpp), so
// a task that takes this rank down is counted by the next coordinator.
#include <filesystem>
#include <string>

#include "actions/action.hpp"
#include "pilot/channel.hpp"

namespace beamflow::pilot {

void run_worker(Channel& channel, const actions::ActionRegistry& registry, const std::string& host,
                const std::filesystem::path& pilot_dir = {});

}  // namespace beamflow::pilot
