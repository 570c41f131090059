#include "jobs/tomography/recon_trace.hpp"

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
                     std::int64_t round) {
  if (!enabled()) return;
  const std::lock_guard lock(m_mutex);
  m_events.push_back({name, thread, round, begin, end});
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
