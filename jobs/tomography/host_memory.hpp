#pragma once
// Large host buffers (a round's projections, sinograms and written slab)
// in transparent huge pages. This VM hands freed memory back to its host
// (free page reporting), so the first touch of each 4 KiB page costs a guest
// fault and often a host fault: 6-14 us a page here, ~0.4 s of CPU a rank
// for the 128 MiB of slabs at 512 x 512. With madvise(MADV_HUGEPAGE) (the
// kernel's default THP mode is "madvise") one fault maps 2 MiB. Only whole
// 2 MiB pages inside a buffer are advised, so no page is ever mapped past
// its end: the memory budget's count of buffer bytes still bounds them.
#include <cstddef>

namespace beamflow::jobs {

inline constexpr std::size_t kHugePage = std::size_t(2) << 20;

// Asks for huge pages on the whole 2 MiB pages inside [data, data + bytes);
// a hint: where the kernel has none (or THP off) the range keeps 4 KiB pages.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

// `bytes` of uninitialised host memory, freed with std::free: aligned to
// kHugePage when at least that large (else to 4 KiB) and advised as above.
// Throws std::bad_alloc.
void* allocate_large(std::size_t bytes);

}  // namespace beamflow::jobs
