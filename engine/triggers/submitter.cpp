#include "triggers/submitter.hpp"

#include "core/error.hpp"
#include "pilot/intake.hpp"

namespace beamflow::triggers {
namespace fsys = std::filesystem;

Submitter::Submitter(fsys::path pilot_dir, int threads, Log log)
    : m_pilot(std::move(pilot_dir)), m_log(std::move(log)) {
  for (int i = 0; i < threads; ++i) m_threads.emplace_back([this] { work(); });
}

Submitter::~Submitter() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
    m_queue.clear();
  }
  m_ready.notify_all();
  for (auto& t : m_threads) t.join();
}

Submitter::Outcome Submitter::hand_over(const Job& job) {
  if (pilot::is_submitted(m_pilot, job.submission_id)) {
    ++already;
    return Outcome::Already;
  }
  try {
    const auto result = pilot::submit(m_pilot, *job.definition, job.input, job.submission_id);
    ++(result.existed ? already : submitted);
    return result.existed ? Outcome::Already : Outcome::Submitted;
  } catch (const Error& e) {
    ++errors;
    const std::lock_guard lock(m_mutex);  // one log line at a time
    m_log("cannot hand " + job.what + " over: " + e.what());
    return Outcome::Failed;
  }
}

void Submitter::push(Job job) {
  if (m_threads.empty()) {
    hand_over(job);
    return;
  }
  {
    const std::lock_guard lock(m_mutex);
    m_queue.push_back(std::move(job));
  }
  m_ready.notify_one();
}

void Submitter::work() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_ready.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_stop) return;
    Job job = std::move(m_queue.front());
    m_queue.pop_front();
    ++m_busy;
    lock.unlock();
    hand_over(job);
    lock.lock();
    --m_busy;
    if (m_queue.empty() && m_busy == 0) m_idle.notify_all();
  }
}

void Submitter::wait_idle() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [&] { return m_queue.empty() && m_busy == 0; });
}

std::size_t Submitter::queued() const {
  const std::lock_guard lock(m_mutex);
  return m_queue.size() + m_busy;
}

}  // namespace beamflow::triggers
