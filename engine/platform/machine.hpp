#pragma once
// Where a process runs, as far as its pid means anything: a pid recorded by
// one node of a cluster and read on another names some unrelated process
// there (nodes share no pid namespace), so a process is signalled only from
// the machine, boot and pid namespace that recorded it.
#include <string>

namespace beamflow::platform {

struct ProcessHome {
  std::string host;     // node_name() (platform/launcher.hpp)
  std::string boot_id;  // /proc/sys/kernel/random/boot_id: the host rebooted, pids restarted
  std::string pid_ns;   // /proc/self/ns/pid, e.g. "pid:[4026531836]": a container's pids are its own
  // Whether a pid recorded under `other` is a pid here: every part known
  // and equal (an unknown part, e.g. from a record that predates it, never
  // matches: a signal to a wrong process is worse than a slower cancel).
  bool same_as(const ProcessHome& other) const;
};

// This process's home (read once, then cached).
const ProcessHome& this_home();

}  // namespace beamflow::platform
