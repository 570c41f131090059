#pragma once
// Large scratch arrays in transparent huge pages, where the host has them.
//
// On the VMs this runs on, freed memory goes back to the host (free page
// reporting), so the first touch of each 4 KiB page costs a guest fault and
// often a host fault: 6-14 us a page, ~0.4 s of CPU a rank for the 128 MiB
// of slabs at 512 x 512, 0.3-0.6 s a rank for gridrec's 177 MiB workspace at
// 2048 x 1500. With madvise(MADV_HUGEPAGE) (Linux's default THP mode is
// "madvise") one fault maps 2 MiB. Only whole 2 MiB pages inside a buffer
// are advised, so no page is ever mapped past its end: a memory budget that
// counts buffer bytes still bounds them. Elsewhere (no THP, no madvise, a
// device memory space) everything here is a plain allocation.
#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdlib>
#include <memory>

namespace beamflow::kernels {

inline constexpr std::size_t kHugePage = std::size_t(2) << 20;

// Asks for huge pages on the whole 2 MiB pages inside [data, data + bytes);
// a hint: where the system has none (or THP is off) it does nothing.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

// `bytes` of uninitialised host memory, freed with std::free: aligned to
// kHugePage when at least that large (else to 4 KiB) and advised as above.
// Throws std::bad_alloc.
void* allocate_large(std::size_t bytes);

struct FreeLarge {
  void operator()(void* p) const noexcept { std::free(p); }
};

// `count` uninitialised T in MemorySpace, for scratch arrays kept across
// calls: allocate_large's memory where the host can address the space, a
// Kokkos allocation elsewhere. Views over data() are unmanaged: keep the
// LargeArray alive as long as they are used.
template <class T, class MemorySpace>
class LargeArray {
 public:
  LargeArray() = default;
  LargeArray(const char* label, std::size_t count) : m_count(count) {
    if constexpr (kHostAccessible) {
      m_host.reset(static_cast<T*>(allocate_large(count * sizeof(T))));
    } else {
      m_space = Kokkos::View<T*, MemorySpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), count);
    }
  }
  T* data() const noexcept {
    if constexpr (kHostAccessible) return m_host.get();
    else return m_space.data();
  }
  std::size_t size() const noexcept { return m_count; }

 private:
  static constexpr bool kHostAccessible = Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;
  std::unique_ptr<T, FreeLarge> m_host;
  Kokkos::View<T*, MemorySpace> m_space;
  std::size_t m_count = 0;
};

}  // namespace beamflow::kernels
