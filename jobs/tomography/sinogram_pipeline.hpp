#pragma once
// The "read slab" and preprocessing steps of every tomography driver: rows
// of a Data Exchange file in, normalised minus-log sinograms on the device
// out. Host/device copies happen here and nowhere else on the input side.
//
//   read     projections, flats and darks of the rows (host, float)
//   copy     to the device
//   kernels  reduce flats and darks (mean or median) -> normalise by
//            (p - dark) / (flat - dark) -> [zingers] -> [Paganin] ->
//            minus log -> transpose to sinograms -> [stripes]
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "core/json.hpp"
#include "jobs/tomography/buffer_pool.hpp"
#include "jobs/tomography/dxchange.hpp"
#include "kernels/common/host_pages.hpp"
#include "kernels/tomo/preprocess.hpp"
#include "kernels/common/views.hpp"

namespace beamflow::jobs {

struct PreprocessOptions {
  kernels::FieldReduce field_reduce = kernels::FieldReduce::Mean;
  // Transmission below this is clamped before the logarithm (dead pixels,
  // fully absorbing features).
  float min_transmission = 1e-6f;
  // Zinger removal on the normalised projections: a pixel exceeding the
  // median of its size x size neighbourhood by more than `zinger_threshold`
  // (in transmission) is replaced by that median. 0: off.
  float zinger_threshold = 0;
  int zinger_size = 3;
  // Single-distance phase retrieval before the logarithm; off when absent
  // or delta_over_beta is not positive.
  std::optional<kernels::PaganinParams> paganin;
  // Ring (stripe) removal on the sinograms; off when absent.
  std::optional<kernels::StripeParams> stripes;

  // Everything here, for the output's parameters attribute.
  Json to_json() const;
};

// Host memory of `capacity` values (plain memory, no Kokkos).
template <class T>
struct HostBuffer {
  std::unique_ptr<T, void (*)(void*)> values{nullptr, &std::free};  // allocate_large's
  std::size_t capacity = 0;
  T* get() const noexcept { return values.get(); }
  explicit operator bool() const noexcept { return bool(values); }
};

// Takes a buffer of `count` values from `pool`, or allocates one of
// max(count, `capacity`) values.
template <class T>
HostBuffer<T> take_buffer(BufferPool<HostBuffer<T>>& pool, std::size_t count, std::size_t capacity = 0) {
  HostBuffer<T> b = pool.take(count);
  if (b.capacity == 0) {
    capacity = std::max(count, capacity);
    b.values.reset(static_cast<T*>(kernels::allocate_large(capacity * sizeof(T))));
    b.capacity = capacity;
  }
  return b;
}

// The values load() reads from the file for one slab, on the host, before
// anything runs on the device: plain memory, no Kokkos, so that the thread
// reading the next slab never touches the device while another thread runs
// kernels (the pipelined reconstruction, recon_job.cpp).
struct RawSlab {
  parallel::RowRange rows;  // the rows asked for
  parallel::RowRange ext;   // with halo() rows of context each side
  // frame (angle) x ext row x column; flats/darks empty when absent. The
  // projections are in projections16, as stored, when the file holds
  // uint16 and preprocessing is the fused one (then `projections` is empty).
  HostBuffer<float> projections, flats, darks;
  HostBuffer<std::uint16_t> projections16;
};

// preprocess()'s sinograms [row][angle][column], kept by the caller across
// slabs: in huge pages where the host can address them (host_pages.hpp).
using SinogramStorage = kernels::LargeArray<kernels::Real, kernels::Sinograms::memory_space>;

class SinogramPipeline {
 public:
  SinogramPipeline(const DxInput& input, PreprocessOptions options);

  // Rows [rows) of every projection as sinograms [row][angle][column] on
  // the device. The view stays valid until the next call. Steps that mix
  // neighbouring rows (zinger median, Paganin) run on the rows plus halo()
  // rows of context each side, so a row comes out the same whatever slab it
  // is loaded in: bit for bit with zinger removal, to the filter's decay
  // with Paganin.
  kernels::Sinograms load(parallel::RowRange rows);
  // load() in its two steps: read() touches the file only (HDF5, host
  // memory), preprocess() the device only. load(r) is preprocess(read(r)),
  // bit for bit. preprocess() may overwrite `raw` (the projections are
  // normalised in place where the device is the host).
  RawSlab read(parallel::RowRange rows) const;
  // `storage`, when given, is the caller's buffer kept across slabs: the
  // sinograms are built in it (grown when too small) and stay valid until
  // the caller's next preprocess() into it.
  kernels::Sinograms preprocess(RawSlab& raw, SinogramStorage* storage = nullptr);
  // preprocess() into the caller's `into`: rows x angles x columns values
  // in the sinograms' memory space, valid until the caller reuses them.
  kernels::Sinograms preprocess_into(RawSlab& raw, kernels::Real* into);
  // Hands a slab's host buffers back for later read()s to reuse.
  void recycle(RawSlab&& raw) const;
  // Buffers (read()'s and preprocess()'s `storage`) are allocated for slabs
  // of at least `rows` rows, so that slabs of different sizes up to that
  // reuse them rather than allocating larger ones as they grow.
  void reserve_rows(std::int64_t rows) noexcept { m_reserved_rows = rows; }
  std::int64_t halo() const noexcept;
  // Normalised minus-log projections [row][column] of the rows at one angle.
  kernels::Image2D load_projection(std::int64_t angle, parallel::RowRange rows);

  // The angles, radians, on the device.
  kernels::Angles angles() const noexcept { return m_angles; }
  const DxInput& input() const noexcept { return m_input; }
  const PreprocessOptions& options() const noexcept { return m_options; }

 private:
  void read_fields(RawSlab& raw) const;
  // normalize and minus_log with no step between them: done in one pass
  // with the transpose to sinograms.
  bool fused() const noexcept { return !(m_options.zinger_threshold > 0) && !m_options.paganin; }
  kernels::FlatDark fields(parallel::RowRange rows, float* flats, float* darks);
  // preprocess()'s steps into `sino` (rows x angles x columns).
  kernels::Sinograms build(RawSlab& raw, kernels::Sinograms sino);
  // Values of `frames` x reserve_rows() rows (with their halo) x columns.
  std::size_t reserved(std::int64_t frames) const noexcept;
  template <class F>
  decltype(auto) kernel(F&& call, parallel::RowRange rows);

  const DxInput& m_input;
  PreprocessOptions m_options;
  kernels::Angles m_angles;
  // Two slabs' projections, flats and darks (one read, one preprocessed).
  mutable BufferPool<HostBuffer<float>> m_floats{6};
  mutable BufferPool<HostBuffer<std::uint16_t>> m_uint16s{2};
  std::int64_t m_reserved_rows = 0;
};

}  // namespace beamflow::jobs
