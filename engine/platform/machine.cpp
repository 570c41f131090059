#include "platform/machine.hpp"

#include <unistd.h>

#include <fstream>

#include "platform/launcher.hpp"

namespace beamflow::platform {
namespace {

std::string first_line(const char* file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string link_target(const char* link) {
  char buf[256];
  const ssize_t n = ::readlink(link, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

bool ProcessHome::same_as(const ProcessHome& other) const {
  return !host.empty() && !boot_id.empty() && !pid_ns.empty() && host == other.host &&
         boot_id == other.boot_id && pid_ns == other.pid_ns;
}

const ProcessHome& this_home() {
  static const ProcessHome home{node_name(), first_line("/proc/sys/kernel/random/boot_id"),
                                link_target("/proc/self/ns/pid")};
  return home;
}

}  // namespace beamflow::platform
