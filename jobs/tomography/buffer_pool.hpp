#pragma once
// Large host buffers handed back after a round, for the next round to take:
// malloc maps such buffers and unmaps them on free, so allocating afresh
// each round faults in fresh zeroed pages every time. The pool keeps at
// most `kept` buffers, never more than were in use at once, so a memory
// budget that bounds the buffers in use bounds the pool too. Thread-safe
// (the pipelined reconstruction reads on one thread and computes on another).
#include <cstddef>
#include <mutex>
#include <vector>

namespace beamflow::jobs {

// Buffer: movable, with a `capacity` member (values it holds; 0 when empty).
template <class Buffer>
class BufferPool {
 public:
  explicit BufferPool(std::size_t kept) : m_kept(kept) {}

  // The smallest kept buffer that holds `count` values, of those the one
  // given back last; an empty Buffer (capacity 0) when none does, for the
  // caller to allocate. Last given, first taken: where rounds need one
  // buffer at a time after a start that needed two (the pipelined
  // reconstruction's read-ahead, while the first round is still being
  // preprocessed), the same one serves every round and the other's pages
  // past that start are never touched (first touches are dear: a fault
  // each, on a VM also the host's). Then the
  // smallest kept buffer is freed: the caller's new one takes its place, so
  // that buffers kept and in use together never outnumber those once in use
  // at the same time, even when rounds differ in size (a tapered pipeline's
  // small first chunk, kept, and two full ones in use would otherwise be
  // three).
  Buffer take(std::size_t count) {
    std::lock_guard lock(m_mutex);
    auto best = m_free.end(), smallest = m_free.end();
    for (auto it = m_free.begin(); it != m_free.end(); ++it) {
      if (it->capacity >= count && (best == m_free.end() || it->capacity <= best->capacity)) best = it;
      if (smallest == m_free.end() || it->capacity < smallest->capacity) smallest = it;
    }
    if (best == m_free.end()) {
      if (smallest != m_free.end()) m_free.erase(smallest);
      return Buffer{};
    }
    Buffer b = std::move(*best);
    m_free.erase(best);
    return b;
  }
  void give(Buffer&& buffer) {
    Buffer b = std::move(buffer);
    buffer = Buffer{};
    if (b.capacity == 0) return;
    std::lock_guard lock(m_mutex);
    if (m_free.size() < m_kept) m_free.push_back(std::move(b));
  }

 private:
  std::size_t m_kept;
  std::mutex m_mutex;
  std::vector<Buffer> m_free;
};

}  // namespace beamflow::jobs
