#include <gtest/gtest.h>

#include <cstdint>

#include "../support/smaps.hpp"
#include "jobs/tomography/sinogram_pipeline.hpp"
#include "jobs/tomography/volume_file.hpp"
#include "kernels/common/host_pages.hpp"

namespace beamflow::jobs {
namespace {

using kernels::kHugePage;
using test::advised;
using test::kernel_has_thp;
using test::vm_flags;

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

}  // namespace
}  // namespace beamflow::jobs
