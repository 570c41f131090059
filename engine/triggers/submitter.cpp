#include "triggers/submitter.hpp"

#include <sys/stat.h>

#include "core/error.hpp"
#include "triggers/event.hpp"

namespace beamflow::triggers {
namespace fsys = std::filesystem;

Submitter::Submitter(fsys::path pilot_dir, int threads, Log log)
    : m_ledger(std::move(pilot_dir)), m_log(std::move(log)) {
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

namespace {

// A file event's submission: its identity, size and mtime now. False when
// the file is gone (or no longer a regular file).
bool describe(Submitter::Job& job) {
  struct stat st {};
  if (::stat(job.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const Registration& r = *job.registration;
  FileEvent e = file_event(r, std::move(job.file), st);
  job.submission_id = file_submission_id(r, e);
  job.input = file_input(r, e, job.submission_id);
  job.file = std::move(e.path);  // kept for what(): the log's text is made only for a line
  return true;
}

}  // namespace

std::string Submitter::file_label(const std::string& file, const std::string& registration_id) {
  return file + " (registration " + registration_id + ")";
}

std::string Submitter::Job::what() const { return registration ? file_label(file, registration->id) : label; }

std::vector<Submitter::Outcome> Submitter::hand_over(std::vector<Job>& jobs) {
  // File events: described now; those gone meanwhile leave the batch.
  std::erase_if(jobs, [](Job& j) { return !j.file.empty() && !describe(j); });
  std::vector<Outcome> out(jobs.size(), Outcome::Failed);
  if (jobs.empty()) return out;
  std::vector<pilot::Intake::Item> items;
  items.reserve(jobs.size());
  // Moved, not copied (an input is a JSON tree: an allocation per node);
  // a job keeps what its log line names.
  for (auto& j : jobs) items.push_back({j.definition, std::move(j.input), std::move(j.submission_id)});
  std::vector<pilot::Intake::Outcome> answers;
  try {
    // One batch file, its own ledger entry (a trigger's id names the
    // file: its identity, size and mtime; one seen again is never read).
    answers = m_ledger.submit(items);
    ++batches;
  } catch (const Error& e) {  // the directory: none of them is known handed over
    errors += jobs.size();
    const std::lock_guard lock(m_log_mutex);
    m_log("cannot hand " + std::to_string(jobs.size()) + " event(s) over (" + jobs.front().what() + (jobs.size() > 1 ? ", ..." : "") +
          "): " + e.what());
    return out;
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (answers[i].error) {
      ++errors;
      const std::lock_guard lock(m_log_mutex);  // one log line at a time
      m_log("cannot hand " + jobs[i].what() + " over: " + answers[i].error->what());
      continue;
    }
    ++(answers[i].existed ? already : submitted);
    out[i] = answers[i].existed ? Outcome::Already : Outcome::Submitted;
  }
  return out;
}

bool Submitter::handed_over(const std::string& submission_id) {
  if (!m_ledger.handed_over(submission_id)) return false;
  ++already;
  return true;
}

Submitter::Outcome Submitter::hand_over(const Job& job) {
  // Seen again (a rescan, a repeated event): a lookup in memory, no batch.
  if (handed_over(job.submission_id)) return Outcome::Already;
  std::vector<Job> one{job};
  return hand_over(one).front();
}

void Submitter::push(std::vector<Job> jobs) {
  if (jobs.empty()) return;
  if (m_threads.empty()) {
    for (std::size_t i = 0; i < jobs.size(); i += kMaxBatch) {
      std::vector<Job> batch(std::make_move_iterator(jobs.begin() + i),
                             std::make_move_iterator(jobs.begin() + std::min(jobs.size(), i + kMaxBatch)));
      hand_over(batch);
    }
    return;
  }
  {
    const std::lock_guard lock(m_mutex);
    for (auto& j : jobs) m_queue.push_back(std::move(j));
  }
  m_ready.notify_all();
}

void Submitter::work() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_ready.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_stop) return;
    // Group commit: whatever is queued now, up to a batch.
    std::vector<Job> batch;
    const std::size_t n = std::min(m_queue.size(), kMaxBatch);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
    }
    ++m_busy;
    lock.unlock();
    hand_over(batch);
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
