#include "jobs/tomography/recon_trace.hpp"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <utility>

#include "core/json.hpp"

namespace beamflow::jobs {
namespace {

double epoch_us_of_steady_zero() {
  const auto steady = ReconTrace::Clock::now();
  const auto system = std::chrono::system_clock::now();
  return std::chrono::duration<double, std::micro>(system.time_since_epoch()).count() -
         std::chrono::duration<double, std::micro>(steady.time_since_epoch()).count();
}

}  // namespace

ReconTrace::ReconTrace(std::string prefix, int rank)
    : m_prefix(std::move(prefix)), m_rank(rank), m_epoch_us(enabled() ? epoch_us_of_steady_zero() : 0) {}

ReconTrace ReconTrace::from_environment(int rank) {
  const char* prefix = std::getenv(kReconTraceEnv);
  return ReconTrace(prefix ? prefix : "", rank);
}

ReconTrace::~ReconTrace() {
  if (!enabled()) return;
  const std::string file = m_prefix + ".rank" + std::to_string(m_rank) + ".json";
  std::ofstream out(file, std::ios::trunc);
  out << json() << "\n";
  out.close();
  if (!out) std::cerr << "beamflow: cannot write the reconstruction trace " << file << ": " << std::strerror(errno) << "\n";
}

void ReconTrace::add(const char* name, const char* thread, Clock::time_point begin, Clock::time_point end,
                     std::int64_t round, const ThreadTimes* at_begin) {
  if (!enabled()) return;
  double cpu = -1, waited = -1;
  if (at_begin) {
    const ThreadTimes now = thread_times();
    cpu = now.cpu - at_begin->cpu;
    if (now.waited >= 0 && at_begin->waited >= 0) waited = now.waited - at_begin->waited;
  }
  const std::lock_guard lock(m_mutex);
  m_events.push_back({name, thread, round, begin, end, cpu, waited});
}

ReconTrace::ThreadTimes ReconTrace::thread_times() const noexcept {
  ThreadTimes out;
  if (!enabled()) return out;
  timespec t{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0) out.cpu = double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  // schedstat: nanoseconds on a core, nanoseconds waiting for one, slices.
  out.waited = -1;
  if (std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r")) {
    unsigned long long ran = 0, waited = 0;
    if (std::fscanf(f, "%llu %llu", &ran, &waited) == 2) out.waited = double(waited) * 1e-9;
    std::fclose(f);
  }
  return out;
}

std::string ReconTrace::json() const {
  const auto us = [&](Clock::time_point t) {
    return m_epoch_us + std::chrono::duration<double, std::micro>(t.time_since_epoch()).count();
  };
  Json events = Json::array();
  std::vector<std::string> threads;  // a thread's tid is its index here
  const auto tid = [&](const char* thread) {
    for (std::size_t i = 0; i < threads.size(); ++i)
      if (threads[i] == thread) return i;
    threads.emplace_back(thread);
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", m_rank},
                      {"tid", threads.size() - 1},
                      {"args", {{"name", thread}}}});
    return threads.size() - 1;
  };
  const std::lock_guard lock(m_mutex);
  for (const Event& e : m_events) {
    Json args = Json::object();
    if (e.round >= 0) args["round"] = e.round;
    if (e.cpu_seconds >= 0) args["cpu_us"] = e.cpu_seconds * 1e6;
    if (e.waited_seconds >= 0) args["runqueue_us"] = e.waited_seconds * 1e6;
    const double begin = us(e.begin);
    const std::size_t thread = tid(e.thread);
    events.push_back({{"name", e.name},
                      {"ph", "X"},
                      {"pid", m_rank},
                      {"tid", thread},
                      {"ts", begin},
                      {"dur", us(e.end) - begin},
                      {"args", args}});
  }
  return events.dump();
}

}  // namespace beamflow::jobs
