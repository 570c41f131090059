#pragma once
// The View types every kernel takes. Layouts are the default (LayoutRight on
// host backends) so a sinogram row [angle][column] is contiguous in columns,
// which the FFT batches rely on.
#include <Kokkos_Core.hpp>

namespace beamflow::kernels {

using Real = float;
using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;

using Sinograms = Kokkos::View<Real***>;   // [row][angle][column]
using Volume = Kokkos::View<Real***>;      // [row][y][x], y = 0 is the top row
using Angles = Kokkos::View<const Real*>;  // radians
using Image2D = Kokkos::View<Real**>;      // [row][column]

}  // namespace beamflow::kernels
