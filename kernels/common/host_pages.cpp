#include "kernels/common/host_pages.hpp"

#include <cstdint>
#include <new>

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#endif

namespace beamflow::kernels {

void advise_huge_pages([[maybe_unused]] void* data, [[maybe_unused]] std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHugePage - 1) / kHugePage * kHugePage;
  const std::uintptr_t last = (begin + bytes) / kHugePage * kHugePage;
  if (data && last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
}

void* allocate_large(std::size_t bytes) {
  void* p = nullptr;
  if (::posix_memalign(&p, bytes >= kHugePage ? kHugePage : 4096, bytes == 0 ? 1 : bytes) != 0) throw std::bad_alloc();
  advise_huge_pages(p, bytes);
  return p;
}

}  // namespace beamflow::kernels
