#include "kernels/common/host_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "jobs/tomography/sinogram_pipeline.hpp"
#include "jobs/tomography/volume_file.hpp"

namespace beamflow::jobs {
namespace {

using kernels::allocate_large;
using kernels::kHugePage;

// The VmFlags of the mapping holding `p` (/proc/self/smaps); "hg" is
// MADV_HUGEPAGE.
std::string vm_flags(const void* p) {
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

bool advised(const void* p) { return (" " + vm_flags(p) + " ").find(" hg ") != std::string::npos; }

// A kernel built without transparent huge pages refuses the advice.
bool kernel_has_thp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

// A round's buffers fault in 2 MiB at a time: one fault instead of 512 for
// each of a slab's 64 MiB on a VM where a fault costs microseconds.
TEST(HostMemory, LargeBuffersAskForHugePages) {
  if (!kernel_has_thp()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  const std::size_t floats = 5 * kHugePage / sizeof(float) + 7;
  const AlignedFloats slab = aligned_floats(floats);
  ASSERT_TRUE(slab.data());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(slab.data()) % kHugePage, 0u);
  EXPECT_TRUE(advised(slab.data())) << vm_flags(slab.data());
  EXPECT_TRUE(advised(slab.data() + 4 * kHugePage / sizeof(float)));

  BufferPool<HostBuffer<std::uint16_t>> pool(1);
  const HostBuffer<std::uint16_t> projections = take_buffer(pool, 3 * kHugePage);
  EXPECT_TRUE(advised(projections.get())) << vm_flags(projections.get());
}

// Only whole huge pages inside the buffer: the partial one at its end stays
// in 4 KiB pages, so touching the buffer's last value never maps memory
// beyond it (the memory budget counts the buffer's bytes).
TEST(HostMemory, NoHugePageReachesPastTheBuffer) {
  if (!kernel_has_thp()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  void* p = allocate_large(kHugePage + 4096);
  ASSERT_TRUE(p);
  auto* bytes = static_cast<char*>(p);
  EXPECT_TRUE(advised(bytes));
  EXPECT_FALSE(advised(bytes + kHugePage)) << vm_flags(bytes + kHugePage);
  std::free(p);

  void* small = allocate_large(100);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small) % 4096, 0u);
  std::free(small);
}

// Kernels' scratch (gridrec's spectra and grid) on a host memory space: the
// same huge pages, aligned so that all of it but a partial last page gets them.
TEST(HostMemory, KernelScratchOnTheHostAsksForHugePages) {
  if (!kernel_has_thp()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  const kernels::LargeArray<float, Kokkos::HostSpace> scratch("test::scratch", 3 * kHugePage / sizeof(float));
  ASSERT_TRUE(scratch.data());
  EXPECT_EQ(scratch.size(), 3 * kHugePage / sizeof(float));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(scratch.data()) % kHugePage, 0u);
  EXPECT_TRUE(advised(scratch.data())) << vm_flags(scratch.data());
  EXPECT_TRUE(advised(scratch.data() + 2 * kHugePage / sizeof(float)));
  const kernels::LargeArray<float, Kokkos::HostSpace> none;
  EXPECT_EQ(none.data(), nullptr);
}

}  // namespace
}  // namespace beamflow::jobs
