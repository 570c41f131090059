#pragma once
// The read-back of a multi-chunk file, one chunk behind the copy: while the
// copier reads, hashes and writes chunk k+1, this thread reads chunk k back
// from the destination and compares its xxh128 with the source's. The copy
// waits on the disk (source reads, writeback); the read-back, a copy out of
// the page cache, runs on the other core meanwhile instead of after the
// copy, where it took ~0.5 s of a 2 GiB file's ~3.4 s on the bench VM.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jobs/transfer/serial_worker.hpp"

namespace beamflow::transfer {

class ChunkVerifier {
 public:
  // The xxh128 of chunk `index` as the destination holds it; called on the
  // verifier's thread.
  using Hash = std::function<std::string(std::uint64_t index)>;

  explicit ChunkVerifier(Hash hash);
  // Stops after the chunk being read; what is queued is dropped.
  ~ChunkVerifier() = default;
  ChunkVerifier(const ChunkVerifier&) = delete;
  ChunkVerifier& operator=(const ChunkVerifier&) = delete;

  // Queues chunk `index`, whose data is written, to be compared with `expected`.
  void check(std::uint64_t index, std::string expected);
  // Waits for every queued chunk; returns those that differed, in the order
  // queued. Rethrows the first error of a read (the rest is not checked).
  std::vector<std::uint64_t> finish();

 private:
  Hash m_hash;
  std::vector<std::uint64_t> m_bad;  // appended by the worker's jobs, read after its wait()
  SerialWorker m_worker;             // last: stops before what its jobs use goes
};

}  // namespace beamflow::transfer
