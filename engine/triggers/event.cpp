#include "triggers/event.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>

#include "core/hash.hpp"
#include "core/time.hpp"

namespace beamflow::triggers {
namespace {

// A placeholder's value (string or number), made when the template names it:
// a file event has eleven, a template uses a few, and this runs per file.
using Lookup = std::function<std::optional<Json>(std::string_view name)>;

std::string text_of(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Json fill(const Json& t, const Lookup& value_of) {
  if (t.is_object()) {
    Json out = Json::object();
    for (auto it = t.begin(); it != t.end(); ++it) out[it.key()] = fill(it.value(), value_of);
    return out;
  }
  if (t.is_array()) {
    Json out = Json::array();
    for (const auto& v : t) out.push_back(fill(v, value_of));
    return out;
  }
  if (!t.is_string()) return t;
  const std::string_view s = t.get_ref<const std::string&>();
  // Exactly one placeholder: its value, with its type.
  if (s.size() > 4 && s.starts_with("{{") && s.ends_with("}}")) {
    if (auto v = value_of(s.substr(2, s.size() - 4))) return std::move(*v);
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
    const auto v = close == std::string::npos ? std::nullopt : value_of(s.substr(open + 2, close - open - 2));
    if (!v) {
      out += "{{";
      i = open + 2;
    } else {
      out += text_of(*v);
      i = close + 2;
    }
  }
  return out;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

FileEvent file_event(const Registration& r, std::string path, const struct stat& st) {
  FileEvent e;
  // A watched file's path is watch_dir/..., made so by the watcher: its
  // relative path is the rest, without lexically_relative's parse of both
  // (a few allocations per file on the hand-off's path).
  const std::string& dir = r.watch_dir.native();
  if (path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/')
    e.relative_path = path.substr(dir.size() + 1);
  else
    e.relative_path = std::filesystem::path(path).lexically_relative(r.watch_dir).string();
  e.path = std::move(path);
  e.device = st.st_dev;
  e.inode = st.st_ino;
  e.size = static_cast<std::uint64_t>(st.st_size);
  e.mtime_ns = mtime_ns(st);
  return e;
}

std::string file_submission_id(const Registration& r, const FileEvent& e) {
  const std::string key = r.id + '\n' + std::to_string(e.device) + '\n' + std::to_string(e.inode) + '\n' +
                          std::to_string(e.size) + '\n' + std::to_string(e.mtime_ns);
  return r.id + ".f" + sha256_hex(key).substr(0, 32);
}

std::string timer_submission_id(const Registration& r, std::int64_t instant_ms) {
  return r.id + ".t" + std::to_string(instant_ms);
}

Json file_input(const Registration& r, const FileEvent& e) { return file_input(r, e, file_submission_id(r, e)); }

Json file_input(const Registration& r, const FileEvent& e, const std::string& submission_id) {
  const std::string_view path = e.path;
  const std::string_view name = path.substr(path.rfind('/') + 1);
  const std::int64_t mtime_ms = floor_div(e.mtime_ns, 1000000);
  return fill(r.input_template, [&](std::string_view key) -> std::optional<Json> {
    if (key == "path") return e.path;
    if (key == "relative_path") return e.relative_path;
    if (key == "name") return std::string(name);
    if (key == "stem") {
      const std::size_t dot = name.rfind('.');
      return std::string(dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot));
    }
    if (key == "dir") return std::string(path.substr(0, path.rfind('/')));
    if (key == "size") return e.size;
    if (key == "mtime") return format_time_ms(mtime_ms);
    if (key == "mtime_ms") return mtime_ms;
    if (key == "endpoint") return r.endpoint;
    if (key == "registration") return r.id;
    if (key == "submission_id") return submission_id;
    return std::nullopt;
  });
}

Json timer_input(const Registration& r, std::int64_t instant_ms) {
  return fill(r.input_template, [&](std::string_view key) -> std::optional<Json> {
    if (key == "instant") return format_time_ms(instant_ms);
    if (key == "instant_ms") return instant_ms;
    if (key == "registration") return r.id;
    if (key == "submission_id") return timer_submission_id(r, instant_ms);
    return std::nullopt;
  });
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
