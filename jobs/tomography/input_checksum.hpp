#pragma once
// The checksum a reconstruction records of its input *file* rather than of
// the data it read: anyone can verify it with sha256sum without knowing
// HDF5; it covers everything that changes the result (projections, flats,
// darks, angles and their units); and it identifies the input before any
// slice is read, which is when a resumed run must decide whether an existing
// output belongs to this input. The cost is one sequential read of the file
// on one rank, small beside reconstructing it, and hidden when hashing
// starts early (InputChecksum).
#include <filesystem>
#include <future>
#include <string>
#include <thread>

namespace beamflow::jobs {

// platform::sha256_file, its failure reported as the input's problem:
// tomo.input.unreadable (file=).
std::string sha256_file(const std::filesystem::path& path);

// The SHA-256 of a file, hashed on a helper thread from construction on,
// so that it overlaps what the process does meanwhile: `beamflow recon`
// starts it on rank 0 before the parallel runtime, whose MPI_Init under
// mpirun is 0.1-0.3 s spent mostly waiting for the launcher, and the
// reconstruction asks for it when it writes the output's header. Destroyed
// without having been asked (the run failed first), it stops hashing at its
// next 1 MiB read instead of keeping the process alive to finish.
class InputChecksum {
 public:
  explicit InputChecksum(std::filesystem::path path);
  const std::filesystem::path& path() const noexcept { return m_path; }
  // Waits for the hash: sha256_file(path()), or its error (a second call
  // hashes again).
  std::string get();

 private:
  std::filesystem::path m_path;
  std::future<std::string> m_hash;
  std::jthread m_thread;  // last: stopped and joined before m_hash goes
};

}  // namespace beamflow::jobs
