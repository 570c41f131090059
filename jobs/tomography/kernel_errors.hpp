#pragma once
// Kernels cannot see engine headers: they throw kernels::Error. The jobs
// run every kernel call through with_kernel_errors, which rethrows it as a
// beamflow::Error with the same id (docs/errors.md, kernels section), the
// ASL name Tomo.KernelError and the job's context (file=, rows=).
#include <utility>

#include "core/error.hpp"
#include "jobs/tomography/errors.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::jobs {

template <class F>
decltype(auto) with_kernel_errors(F&& call, const std::string& file, Error::Context context = {}) {
  try {
    return std::forward<F>(call)();
  } catch (const kernels::Error& e) {
    context.insert(context.begin(), {"file", file});
    throw Error(e.id(), tomo_asl::Kernel, e.where() + ": " + e.message(), std::move(context));
  }
}

}  // namespace beamflow::jobs
