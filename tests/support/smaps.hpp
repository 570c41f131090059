#pragma once
// What the kernel says about this process's own mappings
// (/proc/self/smaps): which memory was advised MADV_HUGEPAGE.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace beamflow::test {

// The VmFlags of the mapping holding `p` (/proc/self/smaps); "hg" is
// MADV_HUGEPAGE.
inline std::string vm_flags(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return {};
}

inline bool advised(const void* p) { return (" " + vm_flags(p) + " ").find(" hg ") != std::string::npos; }

// A kernel built without transparent huge pages refuses the advice.
inline bool kernel_has_thp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

}  // namespace beamflow::test
