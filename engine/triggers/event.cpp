#include "triggers/event.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "core/hash.hpp"
#include "core/time.hpp"

namespace beamflow::triggers {
namespace {

using Values = std::map<std::string, Json>;  // placeholder name -> value (string or number)

std::string text_of(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Json fill(const Json& t, const Values& values) {
  if (t.is_object()) {
    Json out = Json::object();
    for (auto it = t.begin(); it != t.end(); ++it) out[it.key()] = fill(it.value(), values);
    return out;
  }
  if (t.is_array()) {
    Json out = Json::array();
    for (const auto& v : t) out.push_back(fill(v, values));
    return out;
  }
  if (!t.is_string()) return t;
  const std::string s = t.get<std::string>();
  // Exactly one placeholder: its value, with its type.
  if (s.size() > 4 && s.rfind("{{", 0) == 0 && s.compare(s.size() - 2, 2, "}}") == 0) {
    if (auto it = values.find(s.substr(2, s.size() - 4)); it != values.end()) return it->second;
  }
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t open = s.find("{{", i);
    if (open == std::string::npos) {
      out.append(s, i, std::string::npos);
      break;
    }
    out.append(s, i, open - i);
    const std::size_t close = s.find("}}", open + 2);
    const auto it = close == std::string::npos ? values.end() : values.find(s.substr(open + 2, close - open - 2));
    if (it == values.end()) {
      out += "{{";
      i = open + 2;
    } else {
      out += text_of(it->second);
      i = close + 2;
    }
  }
  return out;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::string file_submission_id(const Registration& r, const FileEvent& e) {
  const std::string key = r.id + '\n' + std::to_string(e.device) + '\n' + std::to_string(e.inode) + '\n' +
                          std::to_string(e.size) + '\n' + std::to_string(e.mtime_ns);
  return r.id + ".f" + sha256_hex(key).substr(0, 32);
}

std::string timer_submission_id(const Registration& r, std::int64_t instant_ms) {
  return r.id + ".t" + std::to_string(instant_ms);
}

Json file_input(const Registration& r, const FileEvent& e) {
  const std::string name = e.path.substr(e.path.rfind('/') + 1);
  const std::size_t dot = name.rfind('.');
  const std::int64_t mtime_ms = floor_div(e.mtime_ns, 1000000);
  const Values values{{"path", e.path},
                      {"relative_path", e.relative_path},
                      {"name", name},
                      {"stem", dot == std::string::npos || dot == 0 ? name : name.substr(0, dot)},
                      {"dir", e.path.substr(0, e.path.rfind('/'))},
                      {"size", e.size},
                      {"mtime", format_time_ms(mtime_ms)},
                      {"mtime_ms", mtime_ms},
                      {"endpoint", r.endpoint},
                      {"registration", r.id},
                      {"submission_id", file_submission_id(r, e)}};
  return fill(r.input_template, values);
}

Json timer_input(const Registration& r, std::int64_t instant_ms) {
  const Values values{{"instant", format_time_ms(instant_ms)},
                      {"instant_ms", instant_ms},
                      {"registration", r.id},
                      {"submission_id", timer_submission_id(r, instant_ms)}};
  return fill(r.input_template, values);
}

std::int64_t last_instant(const Registration& r, std::int64_t now) {
  std::int64_t best = -1;
  if (r.every_s > 0) {
    const std::int64_t p = r.every_s * 1000;
    best = std::max(best, floor_div(now, p) * p);
  }
  constexpr std::int64_t kDay = 86400000;
  for (int m : r.at_minutes) {
    std::int64_t t = floor_div(now, kDay) * kDay + std::int64_t{m} * 60000;
    if (t > now) t -= kDay;
    best = std::max(best, t);
  }
  return best >= r.registered_at_ms ? best : -1;
}

std::int64_t next_instant(const Registration& r, std::int64_t now) {
  std::optional<std::int64_t> best;
  auto consider = [&](std::int64_t t) { best = best ? std::min(*best, t) : t; };
  if (r.every_s > 0) {
    const std::int64_t p = r.every_s * 1000;
    consider((floor_div(now, p) + 1) * p);
  }
  constexpr std::int64_t kDay = 86400000;
  for (int m : r.at_minutes) {
    std::int64_t t = floor_div(now, kDay) * kDay + std::int64_t{m} * 60000;
    if (t <= now) t += kDay;
    consider(t);
  }
  return best.value_or(-1);
}

}  // namespace beamflow::triggers
