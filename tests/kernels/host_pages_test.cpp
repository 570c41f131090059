#include "kernels/common/host_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>

#include "../support/smaps.hpp"

namespace beamflow::kernels {
namespace {

using test::advised;
using test::kernel_has_thp;
using test::vm_flags;

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
  const LargeArray<float, Kokkos::HostSpace> scratch("test::scratch", 3 * kHugePage / sizeof(float));
  ASSERT_TRUE(scratch.data());
  EXPECT_EQ(scratch.size(), 3 * kHugePage / sizeof(float));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(scratch.data()) % kHugePage, 0u);
  EXPECT_TRUE(advised(scratch.data())) << vm_flags(scratch.data());
  EXPECT_TRUE(advised(scratch.data() + 2 * kHugePage / sizeof(float)));
  const LargeArray<float, Kokkos::HostSpace> none;
  EXPECT_EQ(none.data(), nullptr);
}

}  // namespace
}  // namespace beamflow::kernels
