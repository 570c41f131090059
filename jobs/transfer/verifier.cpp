#include "jobs/transfer/verifier.hpp"

#include <utility>

namespace beamflow::transfer {

ChunkVerifier::ChunkVerifier(Hash hash) : m_hash(std::move(hash)) {}

void ChunkVerifier::check(std::uint64_t index, std::string expected) {
  m_worker.post([this, index, expected = std::move(expected)] {
    if (m_hash(index) != expected) m_bad.push_back(index);
  });
}

std::vector<std::uint64_t> ChunkVerifier::finish() {
  m_worker.wait();
  return std::exchange(m_bad, {});
}

}  // namespace beamflow::transfer
