#pragma once
// A per-rank timeline of a reconstruction, for finding where its wall time
// goes (the phase totals of the summary say how long each step took, not
// what waited for what).
//
// BEAMFLOW_RECON_TRACE=PREFIX in the environment: each rank writes
// PREFIX.rank<R>.json when reconstruct() ends (also when it fails), in the
// Chrome trace event format: one complete event a span (its name, its
// round in args, begin and duration in microseconds since the epoch, so
// that the ranks' files and a launcher's clock line up) on the thread that
// ran it, "main" or "compute" (named by thread_name metadata events), and
// in args cpu_us, the CPU time that thread spent in the span, and
// runqueue_us, the time it was ready to run but waited for a core (the
// kernel's schedstat; absent where the kernel keeps none). A span's wall
// time above the two is time the thread slept (I/O, a lock, a peer) or
// the host took the core: mpirun binds each rank to one core, which its
// compute thread shares with its own main and helper threads. chrome://tracing or ui.perfetto.dev show them;
// bench/tomography/recon_timeline.py runs a reconstruction with it and
// prints where each rank's wall time went. Unset (the default): nothing is
// recorded; each span costs two clock reads and a branch.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace beamflow::jobs {

inline constexpr const char* kReconTraceEnv = "BEAMFLOW_RECON_TRACE";

class ReconTrace {
 public:
  using Clock = std::chrono::steady_clock;

  // Records when `prefix` is not empty; writes PREFIX.rank<rank>.json.
  ReconTrace(std::string prefix, int rank);
  // From BEAMFLOW_RECON_TRACE.
  static ReconTrace from_environment(int rank);
  ReconTrace(const ReconTrace&) = delete;
  ReconTrace& operator=(const ReconTrace&) = delete;
  // Writes the file (a trace that cannot be written is reported on stderr:
  // it never fails the reconstruction).
  ~ReconTrace();

  bool enabled() const noexcept { return !m_prefix.empty(); }
  // The calling thread's CPU time and its time waiting for a core, in
  // seconds since it started, when recording (else zeros, no system call);
  // waited is negative where unknown.
  struct ThreadTimes {
    double cpu = 0, waited = 0;
  };
  ThreadTimes thread_times() const noexcept;

  // A span [begin, end) of `name` on `thread` (names are literals); round
  // -1: none; `at_begin`: thread_times() at its begin, taken on the thread
  // that calls add() (default: none recorded). Thread-safe.
  void add(const char* name, const char* thread, Clock::time_point begin, Clock::time_point end,
           std::int64_t round = -1, const ThreadTimes* at_begin = nullptr);

  // Records [construction, destruction) as one span.
  class Span {
   public:
    Span(ReconTrace& trace, const char* name, const char* thread = "main", std::int64_t round = -1)
        : m_trace(trace), m_name(name), m_thread(thread), m_round(round), m_times(trace.thread_times()),
          m_begin(Clock::now()) {}
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    ~Span() { m_trace.add(m_name, m_thread, m_begin, Clock::now(), m_round, &m_times); }

   private:
    ReconTrace& m_trace;
    const char* m_name;
    const char* m_thread;
    std::int64_t m_round;
    ThreadTimes m_times;
    Clock::time_point m_begin;
  };
  Span span(const char* name, const char* thread = "main", std::int64_t round = -1) {
    return Span(*this, name, thread, round);
  }

  // The file's text (a JSON array of events), for tests.
  std::string json() const;

 private:
  struct Event {
    const char* name;
    const char* thread;
    std::int64_t round;
    Clock::time_point begin, end;
    double cpu_seconds, waited_seconds;  // negative: unknown
  };
  std::string m_prefix;
  int m_rank;
  // steady_clock's epoch in system_clock microseconds, taken once.
  double m_epoch_us;
  mutable std::mutex m_mutex;
  std::vector<Event> m_events;
};

}  // namespace beamflow::jobs
