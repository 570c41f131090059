#include "kernels/tomo/filters.hpp"

#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "kernels/common/error.hpp"
#include "kernels/common/fft.hpp"
#include "kernels/tomo/row_filter.hpp"

namespace beamflow::kernels {
namespace {

constexpr double kPi = std::numbers::pi;

constexpr std::array<std::pair<std::string_view, Filter>, 9> kNames{{
    {"ramp", Filter::Ramp},
    {"ramlak", Filter::Ramp},
    {"shepp", Filter::Shepp},
    {"cosine", Filter::Cosine},
    {"hann", Filter::Hann},
    {"hamming", Filter::Hamming},
    {"parzen", Filter::Parzen},
    {"butterworth", Filter::Butterworth},
    {"none", Filter::None},
}};

// TomoPy's filter_par for each window (see filters.hpp for hann/hamming).
constexpr double kHannCutoff = 1.0;
constexpr double kParzenCutoff = 0.5;
constexpr double kButterworthCutoff = 0.5;
constexpr double kButterworthOrder = 8.0;

}  // namespace

Filter filter_from_name(std::string_view name) {
  for (const auto& [n, f] : kNames) {
    if (n == name) return f;
  }
  std::string valid;
  for (const auto& [n, f] : kNames) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw Error(error_id::UnknownFilter, "filter_from_name",
              "unknown filter '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string_view filter_name(Filter filter) {
  for (const auto& [n, f] : kNames) {
    if (f == filter) return n;
  }
  return "unknown";
}

double filter_window(Filter filter, double x) {
  const double ax = std::abs(x);
  switch (filter) {
    case Filter::Ramp:
    case Filter::None:
      return 1.0;
    case Filter::Shepp:
      return ax == 0.0 ? 1.0 : std::sin(kPi * ax) / (kPi * ax);
    case Filter::Cosine:
      return std::cos(kPi * ax);
    case Filter::Hann:
      return 0.5 * (1.0 + std::cos(2.0 * kPi * ax / kHannCutoff));
    case Filter::Hamming:
      return 0.54 + 0.46 * std::cos(2.0 * kPi * ax / kHannCutoff);
    case Filter::Parzen:
      return std::pow(1.0 - ax / kParzenCutoff, 3.0);
    case Filter::Butterworth:
      return 1.0 / (1.0 + std::pow(ax / kButterworthCutoff, 2.0 * kButterworthOrder));
  }
  return 1.0;
}

double tomopy_filter(Filter filter, double x) {
  if (filter == Filter::None) return 1.0;
  return std::abs(2.0 * x) * filter_window(filter, x);
}

int padded_length(int width, int pad_factor) {
  if (width < 1 || pad_factor < 1) {
    throw Error(error_id::Argument, "padded_length",
                "width and pad factor must be >= 1 (got width " + std::to_string(width) + ", pad " +
                    std::to_string(pad_factor) + ")");
  }
  const long target = static_cast<long>(width) * pad_factor;
  long p = 16;
  while (p < target) p *= 2;
  if (p > (1L << 28)) throw Error(error_id::Argument, "padded_length", "padded row too long");
  return static_cast<int>(p);
}

std::vector<double> filter_response(Filter filter, int padded) {
  const int bins = padded / 2 + 1;
  std::vector<double> out(bins, 1.0);
  if (filter == Filter::None) return out;
  // Kak & Slaney's spatial ramp on the padded (periodic) grid; its DFT is real.
  std::vector<float> h(padded, 0.0f);
  h[0] = 0.25f;
  for (int n = 1; n < padded; ++n) {
    const int d = n <= padded / 2 ? n : padded - n;
    if (d % 2 == 1) h[n] = static_cast<float>(-1.0 / (kPi * kPi * double(d) * double(d)));
  }
  std::vector<fft::Complex> spectrum(bins);
  fft::Layout layout;
  layout.kind = fft::Kind::RealToComplex;
  layout.n = {padded, 1};
  layout.once = true;
  fft::execute(layout, h.data(), spectrum.data());
  for (int k = 0; k < bins; ++k) {
    out[k] = spectrum[k].real() * filter_window(filter, double(k) / padded);
  }
  return out;
}

namespace detail {

RowFilter::RowFilter(Filter filter, int width, int angles, int pad_factor)
    : m_width(width),
      m_angles(angles),
      m_padded(padded_length(width, pad_factor)),
      m_offset((m_padded - width) / 2),
      m_response("beamflow::filter::response", m_padded / 2 + 1),
      m_spectrum(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::filter::spectrum"),
                 angles, m_padded / 2 + 1) {
  const std::vector<double> response = filter_response(filter, m_padded);
  auto host = Kokkos::create_mirror_view(m_response);
  for (std::size_t k = 0; k < response.size(); ++k) host(k) = Real(response[k] / m_padded);
  Kokkos::deep_copy(m_response, host);
}

void RowFilter::apply(Kokkos::View<const Real***> sino, int row, PaddedRows out) const {
  const int width = m_width;
  const int offset = m_offset;
  const int bins = m_padded / 2 + 1;
  Kokkos::parallel_for(
      "beamflow::filter::pad",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {m_angles, m_padded}),
      KOKKOS_LAMBDA(int a, int j) {
        const int c = j - offset;
        out(a, j) = (c >= 0 && c < width) ? sino(row, a, c) : Real(0);
      });
  fft::Layout forward;
  forward.kind = fft::Kind::RealToComplex;
  forward.n = {m_padded, 1};
  forward.howmany = m_angles;
  fft::execute(forward, out, m_spectrum);
  auto spectrum = m_spectrum;
  auto response = m_response;
  Kokkos::parallel_for(
      "beamflow::filter::apply",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {m_angles, bins}),
      KOKKOS_LAMBDA(int a, int k) { spectrum(a, k) *= response(k); });
  fft::Layout backward = forward;
  backward.kind = fft::Kind::ComplexToReal;
  fft::execute(backward, m_spectrum, out);
}

}  // namespace detail

void filter_sinograms(Sinograms sino, Filter filter, int pad_factor) {
  const int rows = static_cast<int>(sino.extent(0));
  const int angles = static_cast<int>(sino.extent(1));
  const int width = static_cast<int>(sino.extent(2));
  if (rows == 0 || angles == 0 || width == 0) return;
  const detail::RowFilter row_filter(filter, width, angles, pad_factor);
  detail::PaddedRows padded(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::filter::padded"), angles,
      row_filter.padded());
  const int offset = row_filter.offset();
  for (int r = 0; r < rows; ++r) {
    row_filter.apply(sino, r, padded);
    Kokkos::parallel_for(
        "beamflow::filter::crop",
        Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {angles, width}),
        KOKKOS_LAMBDA(int a, int c) { sino(r, a, c) = padded(a, c + offset); });
  }
}

}  // namespace beamflow::kernels
