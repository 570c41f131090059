#include "core/time.hpp"

#include <ctime>

namespace beamflow {

std::string format_time_ms(std::int64_t ms) {
  std::int64_t secs = ms / 1000, rem = ms % 1000;
  if (rem < 0) { rem += 1000; --secs; }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(rem));
  return out;
}

}  // namespace beamflow
