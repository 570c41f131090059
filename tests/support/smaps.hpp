#pragma once
// What the kernel says about this process's own mappings
// (/proc/self/smaps): which memory was advised MADV_HUGEPAGE, how much of
// a mapped file is resident.
#include <cstddef>
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

// The resident bytes (Rss) of this process's mappings of the file
// `path` (as the kernel names it: canonical).
inline std::size_t mapped_resident_bytes(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool ours = false;
  std::size_t kib = 0;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      ours = line.size() > path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0 &&
             line[line.size() - path.size() - 1] == ' ';
    } else if (ours && line.rfind("Rss:", 0) == 0) {
      kib += std::stoul(line.substr(4));
    }
  }
  return kib * 1024;
}

inline bool advised(const void* p) { return (" " + vm_flags(p) + " ").find(" hg ") != std::string::npos; }

// A kernel built without transparent huge pages refuses the advice.
inline bool kernel_has_thp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

}  // namespace beamflow::test
