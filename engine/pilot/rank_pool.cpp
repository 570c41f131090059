#include "pilot/rank_pool.hpp"

#include "core/time.hpp"

namespace beamflow::pilot {
namespace {
// How long the end waits for the workers' goodbyes.
constexpr std::int64_t kByeWaitMs = 10'000;
}  // namespace

RankPool::RankPool(Channel& channel) : m_channel(channel), m_scheduler(channel) {
  m_thread = std::thread([this] { loop(); });
}

RankPool::~RankPool() {
  m_stop.notify();
  m_thread.join();
}

void RankPool::loop() {
  fs::Poller poller;
  poller.add(m_channel.fd(), 0);
  poller.add(m_scheduler.fd(), 1);
  poller.add(m_stop.fd(), 2);
  std::int64_t stopping_since = 0;
  while (true) {
    for (const std::uint64_t token : poller.wait(1000)) {
      if (token == 2 && !stopping_since) {
        m_stop.drain();
        m_scheduler.stop_placing();
        m_scheduler.stop_workers();
        stopping_since = now_ms();
      }
    }
    m_scheduler.pump();
    if (stopping_since && (m_scheduler.workers_stopped() || now_ms() - stopping_since > kByeWaitMs)) return;
  }
}

}  // namespace beamflow::pilot
