#include "kernels/common/fft.hpp"

#include <fftw3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "kernels/common/error.hpp"

namespace beamflow::kernels::fft {
namespace {

constexpr const char* kWhere = "fft";

std::atomic<Effort> g_effort{Effort::Measure};

unsigned effort_flag(Effort e) {
  switch (e) {
    case Effort::Estimate:
      return FFTW_ESTIMATE;
    case Effort::Measure:
      return FFTW_MEASURE;
    case Effort::Patient:
      return FFTW_PATIENT;
    case Effort::WisdomOnly:
      return FFTW_WISDOM_ONLY | FFTW_ESTIMATE;
  }
  return FFTW_MEASURE;
}

bool is_real_input(Kind k) { return k == Kind::RealToComplex; }
bool is_real_output(Kind k) { return k == Kind::ComplexToReal; }

// Logical element counts of one transform on each side.
std::size_t count(const Layout& l, bool real_side) {
  const std::size_t last = static_cast<std::size_t>(l.n[l.rank - 1]);
  const std::size_t lead = l.rank == 2 ? static_cast<std::size_t>(l.n[0]) : 1;
  const bool real_transform = l.kind == Kind::RealToComplex || l.kind == Kind::ComplexToReal;
  if (!real_transform || real_side) return lead * last;
  return lead * (last / 2 + 1);
}

int in_dist(const Layout& l) {
  return l.in_dist ? l.in_dist : static_cast<int>(count(l, is_real_input(l.kind)));
}
int out_dist(const Layout& l) {
  return l.out_dist ? l.out_dist : static_cast<int>(count(l, is_real_output(l.kind)));
}

// Elements an array must hold for the whole batch.
std::size_t span(const Layout& l, bool input) {
  const bool real_side = input ? is_real_input(l.kind) : is_real_output(l.kind);
  const std::size_t per = count(l, real_side);
  const std::size_t stride = static_cast<std::size_t>(input ? l.in_stride : l.out_stride);
  const std::size_t dist = static_cast<std::size_t>(input ? in_dist(l) : out_dist(l));
  return (static_cast<std::size_t>(l.howmany) - 1) * dist + (per - 1) * stride + 1;
}

void validate(const Layout& l) {
  const bool ok = (l.rank == 1 || l.rank == 2) && l.n[0] > 0 && l.n[1] > 0 && l.howmany > 0 &&
                  l.in_stride > 0 && l.out_stride > 0 && l.in_dist >= 0 && l.out_dist >= 0 &&
                  (l.rank == 1 || (l.in_stride == 1 && l.out_stride == 1));
  if (!ok) {
    throw Error(error_id::Argument, kWhere,
                "invalid transform layout (rank 1 or 2, positive sizes, strides only for rank 1)");
  }
}

class Plan {
 public:
  Plan(const Layout& l, bool in_place, bool aligned) {
    const std::size_t in_span = span(l, true);
    const std::size_t out_span = span(l, false);
    // Real elements each buffer needs (complex counts twice).
    const std::size_t in_floats = in_span * (is_real_input(l.kind) ? 1 : 2);
    const std::size_t out_floats = out_span * (is_real_output(l.kind) ? 1 : 2);
    const std::size_t floats = in_place ? std::max(in_floats, out_floats) : in_floats;
    // Planning may overwrite its arrays (FFTW_MEASURE), so it plans on scratch.
    float* in = fftwf_alloc_real(floats + 2);
    float* out = in_place ? in : fftwf_alloc_real(out_floats + 2);
    unsigned flags = l.once ? FFTW_ESTIMATE : effort_flag(g_effort.load());
    if (!aligned) flags |= FFTW_UNALIGNED;
    int n[2] = {l.n[0], l.n[1]};
    const int idist = in_dist(l);
    const int odist = out_dist(l);
    auto* cin = reinterpret_cast<fftwf_complex*>(in);
    auto* cout = reinterpret_cast<fftwf_complex*>(out);
    switch (l.kind) {
      case Kind::RealToComplex:
        m_plan = fftwf_plan_many_dft_r2c(l.rank, n, l.howmany, in, nullptr, l.in_stride, idist,
                                         cout, nullptr, l.out_stride, odist, flags);
        break;
      case Kind::ComplexToReal:
        m_plan = fftwf_plan_many_dft_c2r(l.rank, n, l.howmany, cin, nullptr, l.in_stride, idist,
                                         out, nullptr, l.out_stride, odist, flags);
        break;
      case Kind::Forward:
      case Kind::Backward:
        m_plan = fftwf_plan_many_dft(l.rank, n, l.howmany, cin, nullptr, l.in_stride, idist, cout,
                                     nullptr, l.out_stride, odist,
                                     l.kind == Kind::Forward ? FFTW_FORWARD : FFTW_BACKWARD, flags);
        break;
    }
    if (out != in) fftwf_free(out);
    fftwf_free(in);
    if (!m_plan) {
      throw Error(error_id::Fft, kWhere,
                  "FFTW could not plan a transform of " + std::to_string(l.n[0]) + "x" +
                      std::to_string(l.n[1]) + " (rank " + std::to_string(l.rank) + ", batch " +
                      std::to_string(l.howmany) + ")" +
                      (g_effort.load() == Effort::WisdomOnly
                           ? "; no wisdom for it and effort is wisdom-only"
                           : ""));
    }
  }
  ~Plan() { fftwf_destroy_plan(m_plan); }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  fftwf_plan get() const { return m_plan; }

 private:
  fftwf_plan m_plan = nullptr;
};

std::mutex g_mutex;  // guards the cache and every FFTW planner call

// shared_ptr: a plan stays alive while a thread executes it, even if
// import_wisdom() drops it from the cache meanwhile.
using PlanPtr = std::shared_ptr<const Plan>;
std::map<std::tuple<Layout, bool, bool>, PlanPtr>& cache() {
  static std::map<std::tuple<Layout, bool, bool>, PlanPtr> plans;
  return plans;
}

PlanPtr cached_plan(const Layout& l, bool in_place, bool aligned) {
  const auto key = std::make_tuple(l, in_place, aligned);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& plans = cache();
  auto it = plans.find(key);
  if (it == plans.end())
    it = plans.emplace(key, std::make_shared<const Plan>(l, in_place, aligned)).first;
  return it->second;
}

PlanPtr lookup(const Layout& l, Kind expected, const void* in, const void* out) {
  if (l.kind != expected && !(expected == Kind::Forward && l.kind == Kind::Backward)) {
    throw Error(error_id::Argument, kWhere, "transform kind does not match the array types");
  }
  validate(l);
  // fftwf_malloc alignment is what plans assume; anything else plans unaligned.
  const bool aligned = fftwf_alignment_of(const_cast<float*>(static_cast<const float*>(in))) == 0 &&
                       fftwf_alignment_of(static_cast<float*>(const_cast<void*>(out))) == 0;
  return cached_plan(l, in == out, aligned);
}

}  // namespace

void plan(const Layout& layout, bool in_place) {
  validate(layout);
  cached_plan(layout, in_place, true);
}

void execute(const Layout& layout, const float* in, Complex* out) {
  const PlanPtr p = lookup(layout, Kind::RealToComplex, in, out);
  fftwf_execute_dft_r2c(p->get(), const_cast<float*>(in), reinterpret_cast<fftwf_complex*>(out));
}

void execute(const Layout& layout, Complex* in, float* out) {
  const PlanPtr p = lookup(layout, Kind::ComplexToReal, in, out);
  fftwf_execute_dft_c2r(p->get(), reinterpret_cast<fftwf_complex*>(in), out);
}

void execute(const Layout& layout, Complex* in, Complex* out) {
  const PlanPtr p = lookup(layout, Kind::Forward, in, out);
  fftwf_execute_dft(p->get(), reinterpret_cast<fftwf_complex*>(in), reinterpret_cast<fftwf_complex*>(out));
}

void set_effort(Effort e) { g_effort.store(e); }
Effort effort() { return g_effort.load(); }

std::string export_wisdom() {
  std::lock_guard<std::mutex> lock(g_mutex);
  char* text = fftwf_export_wisdom_to_string();
  std::string out = text ? text : "";
  std::free(text);  // FFTW allocates the string with malloc
  return out;
}

bool import_wisdom(std::string_view wisdom) {
  const std::string text(wisdom);
  std::lock_guard<std::mutex> lock(g_mutex);
  fftwf_forget_wisdom();  // replace, not merge: no older choice may survive
  if (fftwf_import_wisdom_from_string(text.c_str()) == 0) return false;
  cache().clear();
  return true;
}

std::string library_version() { return fftwf_version; }

int good_size(int min_size) {
  for (int n = min_size > 1 ? min_size : 1;; ++n) {
    int r = n;
    for (int p : {2, 3, 5}) {
      while (r % p == 0) r /= p;
    }
    if (r == 1) return n;
  }
}

std::size_t cached_plans() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return cache().size();
}

}  // namespace beamflow::kernels::fft
