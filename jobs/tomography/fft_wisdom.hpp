#pragma once
// FFTW's measured plans, kept so they are measured once per machine type:
// $BEAMFLOW_FFT_WISDOM if set, else $BEAMFLOW_HOME/fftw/KEY.wisdom, KEY a
// hash of the FFTW version and the CPU model (wisdom names SIMD codelets
// another CPU may lack). Besides skipping seconds of FFTW_MEASURE per shape,
// runs that follow the same wisdom choose the same plans and so round
// identically: two reconstructions of the same data on this machine write
// the same bits.
#include <filesystem>
#include <string>

namespace beamflow::jobs {

std::filesystem::path fft_wisdom_path();
// The wisdom stored at `path`; empty when there is none or it cannot be read
// (a damaged file is as good as none: the run measures and rewrites it).
std::string load_fft_wisdom(const std::filesystem::path& path);
// Replaces the file atomically with `wisdom`. Best effort: a read-only home
// costs the next run its planning time, not its result, so failures are
// returned as a message (empty on success) for the caller to log.
std::string save_fft_wisdom(const std::filesystem::path& path, const std::string& wisdom);
// Whether two exported wisdoms hold the same plans, in whatever order: FFTW
// exports its wisdom in the order of its hash table, which differs from run
// to run, so comparing the text made every run rewrite (and fsync) the
// store on rank 0 while the other ranks waited.
bool same_fft_wisdom(const std::string& a, const std::string& b);

}  // namespace beamflow::jobs
