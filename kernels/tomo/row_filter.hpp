#pragma once
// Internal: filters the rows of one sinogram into zero-padded rows, shared by
// filter_sinograms() and fbp() (which back-projects from the padded rows so
// rays through the grid corners still see the filter's tails).
#include "kernels/tomo/filters.hpp"
#include "kernels/common/views.hpp"

namespace beamflow::kernels::detail {

// FFT workspaces are LayoutRight on every backend: rows must be contiguous.
using PaddedRows = Kokkos::View<Real**, Kokkos::LayoutRight>;
using SpectrumRows = Kokkos::View<Kokkos::complex<Real>**, Kokkos::LayoutRight>;

class RowFilter {
 public:
  RowFilter(Filter filter, int width, int angles, int pad_factor);

  int padded() const { return m_padded; }
  // Column c of the input lands at c + offset() in a padded row; the data sit
  // in the middle so the filter's tails fit on both sides.
  int offset() const { return m_offset; }

  // Filters sino(row, :, :) into out [angle][padded] (overwritten).
  void apply(Kokkos::View<const Real***> sino, int row, PaddedRows out) const;

 private:
  int m_width;
  int m_angles;
  int m_padded;
  int m_offset;
  Kokkos::View<Real*> m_response;  // [padded/2+1], includes 1/padded
  SpectrumRows m_spectrum;         // [angle][padded/2+1]
};

}  // namespace beamflow::kernels::detail
