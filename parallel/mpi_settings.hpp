#pragma once
// Open MPI settings beamflow supplies before MPI_Init where the user chose
// none (ParallelRuntime sets them in the environment, which Open MPI reads
// at MPI_Init; a value the user set, with `mpirun -mca` or OMPI_MCA_*, wins),
// and one socket option it sets after MPI_Init (below).
//
// Open MPI opens every messaging layer (pml) it may use and keeps the best;
// opening them is most of MPI_Init: on the 2-core VM, whose system settings
// exclude UCX, opening cm with its PSM/PSM2 transports made MPI_Init take
// 0.35-0.5 s a rank (under load), against 0.1-0.2 s with ob1 alone, the
// layer it selected anyway (bench/RESULTS.md, Tomography). A job whose ranks all run on
// one node (Open MPI's local size is its size) needs no network transport,
// so there the pml is ob1, whose shared-memory and self transports carry
// the ranks' messages. Jobs over several nodes, or not started by Open
// MPI's launcher, are left to the site's settings.
#include <string>
#include <utility>
#include <vector>

#include "platform/launcher.hpp"

namespace beamflow::parallel {

// (variable, value) pairs to set; empty when the job needs none.
std::vector<std::pair<std::string, std::string>> open_mpi_defaults(const platform::EnvLookup& env);
// Sets this process's defaults (those of its environment) where unset.
// Before MPI_Init, while no other thread reads the environment.
void set_open_mpi_defaults();

// After MPI_Init, ParallelRuntime turns Nagle's algorithm off
// (TCP_NODELAY) on every TCP socket the process has open, which then are
// the MPI library's own: Open MPI 4.1's PMIx client talks to its launcher
// over loopback TCP without TCP_NODELAY, and MPI_Finalize's fence sends
// several small messages in a row, so the second waited for the launcher's
// delayed acknowledgement: MPI_Finalize took 43-53 ms a rank, against 2-8 ms
// with the option (2 ranks of a C program on the 2-core VM; recon at
// 2048 x 1500: reconstruct()'s end to mpirun's exit 66-70 ms -> 15-22 ms),
// all of it idle at the end of every MPI command. The option changes when
// bytes are sent, never what is sent.
//
// The TCP (IPv4 or IPv6 stream) sockets this process has open, by descriptor.
std::vector<int> open_tcp_sockets();
// Sets TCP_NODELAY on each of `sockets`; returns how many took it.
int tcp_no_delay(const std::vector<int>& sockets);

}  // namespace beamflow::parallel
