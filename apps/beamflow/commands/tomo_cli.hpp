#pragma once
// Shared by the tomography subcommands (recon, find-center, phantom,
// preview): their options come from the job's field table
// (jobs/tomography/requests.hpp, through apps/beamflow/field_options.hpp),
// so `--chunk-rows 8` and the action input {"chunk_rows": 8} are one option;
// errors are printed as tomography_output() says.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "apps/beamflow/field_options.hpp"
#include "apps/beamflow/output.hpp"
#include "apps/beamflow/subcommand.hpp"
#include "core/error.hpp"
#include "jobs/tomography/requests.hpp"
#include "parallel/runtime.hpp"
#include "platform/launcher.hpp"

namespace beamflow::cli {

// The JSON request of the parsed flags (tomo.usage.request for a value
// that does not parse).
template <class O>
Json request_from(const po::variables_map& vm, const std::vector<jobs::Field<O>>& fields) {
  return request_from(vm, fields, jobs::request_error);
}

// The output of a tomography command: errors printed by rank 0 on stderr;
// with --json *every* rank also prints the error as {"error", "asl_name",
// "message", "context"} on stdout, which is how the reconstruct action reads
// the error of a recon it ran under mpirun: errors are agreed across ranks,
// and mpirun may abort the job when the first rank exits, before rank 0 has
// printed anything. Exit 1, or 2 for usage errors (output.hpp).
inline Output tomography_output(const std::string& command, const std::vector<std::string>& args) {
  Output out(command, args);
  out.speaks(platform::launch_info().rank == 0).human_errors_too();
  return out;
}

// Runs `body(runtime)` with the parallel runtime up, and reports what it
// throws before the runtime ends: under mpirun a rank that leaves MPI with
// exit 1 may make mpirun abort the others, rank 0 included, before rank 0
// has printed the agreed error (the other ranks are silent).
template <class Body>
int with_runtime(const Output& out, Body&& body) {
  parallel::ParallelRuntime runtime;
  return out.run([&] { return body(runtime); });
}

}  // namespace beamflow::cli
