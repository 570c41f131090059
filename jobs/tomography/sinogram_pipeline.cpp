#include "jobs/tomography/sinogram_pipeline.hpp"

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "jobs/tomography/kernel_errors.hpp"

namespace beamflow::jobs {

namespace {
using Stack = Kokkos::View<kernels::Real***>;  // [frame or angle][row][column]

// Host values (frames x rows x columns) as a device view: the same memory
// where the device is the host, else a copy.
Stack on_device(const char* label, float* host, std::int64_t frames, std::int64_t rows, std::int64_t columns) {
  using Host = Kokkos::View<kernels::Real***, Stack::array_layout, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
  const Host values(host, frames, rows, columns);
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, Stack::memory_space>::accessible) {
    return Stack(values);
  } else {
    Stack device(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), frames, rows, columns);
    Kokkos::deep_copy(device, values);
    return device;
  }
}

std::size_t values(std::int64_t frames, parallel::RowRange rows, std::int64_t columns) {
  return static_cast<std::size_t>(frames * rows.size() * columns);
}

kernels::Angles device_angles(const std::vector<double>& radians) {
  Kokkos::View<kernels::Real*> theta("beamflow::jobs::theta", radians.size());
  auto host = Kokkos::create_mirror_view(theta);
  for (std::size_t i = 0; i < radians.size(); ++i) host(i) = static_cast<kernels::Real>(radians[i]);
  Kokkos::deep_copy(theta, host);
  return theta;
}
}  // namespace

Json PreprocessOptions::to_json() const {
  Json j{{"field_reduce", field_reduce == kernels::FieldReduce::Median ? "median" : "mean"},
         {"min_transmission", min_transmission},
         {"zinger_threshold", zinger_threshold},
         {"zinger_size", zinger_size},
         {"stripes", nullptr},
         {"paganin", nullptr}};
  if (stripes) j["stripes"] = {{"size", stripes->size}};
  if (paganin)
    j["paganin"] = {{"pixel_size", paganin->pixel_size},
                    {"distance", paganin->distance},
                    {"energy", paganin->energy},
                    {"delta_over_beta", paganin->delta_over_beta}};
  return j;
}

SinogramPipeline::SinogramPipeline(const DxInput& input, PreprocessOptions options)
    : m_input(input), m_options(std::move(options)), m_angles(device_angles(input.theta_radians())) {
  // Setting the geometry alone does not turn phase retrieval on.
  if (m_options.paganin && !(m_options.paganin->delta_over_beta > 0)) m_options.paganin.reset();
}

template <class F>
decltype(auto) SinogramPipeline::kernel(F&& call, parallel::RowRange rows) {
  return with_kernel_errors(std::forward<F>(call), m_input.path().string(),
                            {{"dataset", m_input.layout().data},
                             {"rows", std::to_string(rows.begin) + ":" + std::to_string(rows.end)}});
}

kernels::FlatDark SinogramPipeline::fields(parallel::RowRange rows, float* flats, float* darks) {
  const DxShape& s = m_input.shape();
  kernels::FlatDark fd{kernels::Image2D("beamflow::jobs::flat", rows.size(), s.columns),
                       kernels::Image2D("beamflow::jobs::dark", rows.size(), s.columns)};
  // Absent fields: the data are taken as normalised already (flat 1, dark 0).
  if (s.flats > 0) {
    Stack stack = on_device("beamflow::jobs::flats", flats, s.flats, rows.size(), s.columns);
    kernel([&] { kernels::reduce_fields(stack, m_options.field_reduce, fd.flat); }, rows);
  } else {
    Kokkos::deep_copy(fd.flat, kernels::Real(1));
  }
  if (s.darks > 0) {
    Stack stack = on_device("beamflow::jobs::darks", darks, s.darks, rows.size(), s.columns);
    kernel([&] { kernels::reduce_fields(stack, m_options.field_reduce, fd.dark); }, rows);
  }
  return fd;
}

std::size_t SinogramPipeline::reserved(std::int64_t frames) const noexcept {
  const std::int64_t rows = std::min(m_input.shape().rows, m_reserved_rows + 2 * halo());
  return m_reserved_rows > 0 ? values(frames, {0, rows}, m_input.shape().columns) : 0;
}

void SinogramPipeline::read_fields(RawSlab& raw) const {
  const DxShape& s = m_input.shape();
  if (s.flats > 0) {
    raw.flats = take_buffer(m_floats, values(s.flats, raw.ext, s.columns), reserved(s.flats));
    m_input.read_flats(raw.ext, raw.flats.get());
  }
  if (s.darks > 0) {
    raw.darks = take_buffer(m_floats, values(s.darks, raw.ext, s.columns), reserved(s.darks));
    m_input.read_darks(raw.ext, raw.darks.get());
  }
}

std::int64_t SinogramPipeline::halo() const noexcept {
  std::int64_t h = m_options.zinger_threshold > 0 ? m_options.zinger_size / 2 : 0;
  if (m_options.paganin) h = std::max<std::int64_t>(h, kernels::paganin_halo(*m_options.paganin));
  return h;
}

kernels::Sinograms SinogramPipeline::load(parallel::RowRange rows) {
  RawSlab raw = read(rows);
  return preprocess(raw);
}

RawSlab SinogramPipeline::read(parallel::RowRange rows) const {
  const DxShape& s = m_input.shape();
  RawSlab raw;
  raw.rows = rows;
  raw.ext = {std::max<std::int64_t>(0, rows.begin - halo()), std::min(s.rows, rows.end + halo())};
  read_fields(raw);
  const std::size_t n = values(s.angles, raw.ext, s.columns);
  // uint16 as stored: half the bytes, and no conversion pass in HDF5 (the
  // fused preprocessing converts each value as it reads it).
  if (fused() && m_input.projections_are_uint16()) {
    raw.projections16 = take_buffer(m_uint16s, n, reserved(s.angles));
    m_input.read_projections(raw.ext, raw.projections16.get());
  } else {
    raw.projections = take_buffer(m_floats, n, reserved(s.angles));
    m_input.read_projections(raw.ext, raw.projections.get());
  }
  return raw;
}

void SinogramPipeline::recycle(RawSlab&& raw) const {
  m_floats.give(std::move(raw.projections));
  m_floats.give(std::move(raw.flats));
  m_floats.give(std::move(raw.darks));
  m_uint16s.give(std::move(raw.projections16));
}

kernels::Sinograms SinogramPipeline::preprocess(RawSlab& raw, SinogramStorage* storage) {
  const std::size_t A = std::size_t(m_input.shape().angles), R = std::size_t(raw.rows.size()),
                    C = std::size_t(m_input.shape().columns);
  if (!storage)
    return build(raw, kernels::Sinograms(
                          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("beamflow::jobs::sinograms")), R, A, C));
  // 2 MiB-aligned in huge pages (host_pages.hpp), so that all of it but
  // a partial last page faults in 2 MiB at a time.
  if (storage->size() < R * A * C)
    *storage = SinogramStorage("beamflow::jobs::sinograms",
                               std::size_t(std::max<std::int64_t>(m_reserved_rows, std::int64_t(R))) * A * C);
  return preprocess_into(raw, storage->data());
}

kernels::Sinograms SinogramPipeline::preprocess_into(RawSlab& raw, kernels::Real* into) {
  return build(raw, kernels::Sinograms(into, raw.rows.size(), m_input.shape().angles, m_input.shape().columns));
}

kernels::Sinograms SinogramPipeline::build(RawSlab& raw, kernels::Sinograms sino) {
  const DxShape& s = m_input.shape();
  const parallel::RowRange rows = raw.rows, ext = raw.ext;
  const kernels::FlatDark fd = fields(ext, raw.flats.get(), raw.darks.get());
  const int A = static_cast<int>(s.angles), R = static_cast<int>(rows.size()),
            C = static_cast<int>(s.columns), skip = static_cast<int>(rows.begin - ext.begin);
  const float min_t = m_options.min_transmission;
  if (raw.projections16) {
    using Stack16 = Kokkos::View<std::uint16_t***, Stack::array_layout, Stack::memory_space>;
    using Host16 = Kokkos::View<std::uint16_t***, Stack::array_layout, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
    const Host16 host(raw.projections16.get(), s.angles, ext.size(), s.columns);
    Stack16 proj;
    if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, Stack::memory_space>::accessible) {
      proj = Stack16(host);
    } else {
      proj = Stack16(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("beamflow::jobs::projections")),
                     s.angles, ext.size(), s.columns);
      Kokkos::deep_copy(proj, host);
    }
    kernel([&] { kernels::normalize_log_to_sinograms(proj, fd, min_t, skip, sino); }, ext);
  } else if (fused()) {
    Stack proj = on_device("beamflow::jobs::projections", raw.projections.get(), s.angles, ext.size(), s.columns);
    kernel([&] { kernels::normalize_log_to_sinograms(proj, fd, min_t, skip, sino); }, ext);
  } else {
    Stack proj = on_device("beamflow::jobs::projections", raw.projections.get(), s.angles, ext.size(), s.columns);
    kernel(
        [&] {
          kernels::normalize(proj, fd, min_t);
          if (m_options.zinger_threshold > 0)
            kernels::remove_zingers(proj, m_options.zinger_threshold, m_options.zinger_size);
          if (m_options.paganin) kernels::paganin(proj, *m_options.paganin);
          kernels::minus_log(proj, min_t);
        },
        ext);
    Kokkos::parallel_for(
        "beamflow::jobs::to_sinograms",
        Kokkos::MDRangePolicy<kernels::ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {R, A, C}),
        KOKKOS_LAMBDA(int r, int a, int c) { sino(r, a, c) = proj(a, r + skip, c); });
  }
  if (m_options.stripes) kernel([&] { kernels::remove_stripes(sino, *m_options.stripes); }, rows);
  return sino;
}

kernels::Image2D SinogramPipeline::load_projection(std::int64_t angle, parallel::RowRange rows) {
  const DxShape& s = m_input.shape();
  RawSlab raw;
  raw.rows = raw.ext = rows;
  read_fields(raw);
  raw.projections = take_buffer(m_floats, values(1, rows, s.columns));
  m_input.read_projection(angle, rows, raw.projections.get());
  const kernels::FlatDark fd = fields(rows, raw.flats.get(), raw.darks.get());
  Stack proj = on_device("beamflow::jobs::projection", raw.projections.get(), 1, rows.size(), s.columns);
  kernel(
      [&] {
        kernels::normalize(proj, fd, m_options.min_transmission);
        if (m_options.paganin) kernels::paganin(proj, *m_options.paganin);
        kernels::minus_log(proj, m_options.min_transmission);
      },
      rows);
  kernels::Image2D image("beamflow::jobs::projection_image", rows.size(), s.columns);
  Kokkos::deep_copy(image, Kokkos::subview(proj, 0, Kokkos::ALL, Kokkos::ALL));
  return image;
}

}  // namespace beamflow::jobs
