#pragma once
// Wall-clock helpers: the engine records times as milliseconds since the Unix
// epoch and shows them as RFC 3339 UTC ("2026-11-24T09:30:00.123Z").
#include <chrono>
#include <cstdint>
#include <string>

namespace beamflow {

inline std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_time_ms(std::int64_t ms);

}  // namespace beamflow
