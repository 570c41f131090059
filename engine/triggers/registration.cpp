#include "triggers/registration.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "pilot/intake.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"

namespace beamflow::triggers {
namespace fsys = std::filesystem;

namespace {

Error invalid(const std::string& what, Error::Context context = {}) {
  return Error("trigger.registration.invalid", states_error::Runtime, what, std::move(context));
}

Error io_error(const std::string& what, const fsys::path& file, int err) {
  return Error("trigger.dir.io", states_error::Runtime, what + ": " + std::strerror(err), {{"file", file.string()}});
}

// A registration id is a submission id (pilot/intake.hpp) short enough to
// leave room for the event's part of the submission ids made from it.
void check_id(const std::string& id) {
  bool ok = id.size() <= 64;
  try {
    pilot::check_submission_id(id);
  } catch (const Error&) {
    ok = false;
  }
  if (!ok)
    throw invalid("a registration id is 1-64 letters, digits, '-', '_' or '.', not starting with '.': '" + id + "'",
                  {{"id", id}});
}

Registration read_registration(const fsys::path& file) {
  Json j;
  try {
    j = parse_json(fs::read_file(file), file.string());
  } catch (const Error& e) {
    throw invalid("damaged registration file: " + e.message(), {{"file", file.string()}});
  }
  return Registration::from_json(j, file.string());
}

// Temporary file in `dir`, 0600, fsync'ed; its path.
fsys::path write_temp(const fsys::path& dir, const std::string& data) {
  std::string templ = (dir / ".register-XXXXXX").string();
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) throw io_error("cannot create a temporary file", dir, errno);
  std::size_t done = 0;
  int err = 0;
  while (done < data.size() && err == 0) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(templ.c_str());
    throw io_error("cannot write the registration", templ, err);
  }
  return templ;
}

}  // namespace

fsys::path registrations_dir(const fsys::path& dir) { return dir / "triggers"; }

fsys::path prepare_registrations_dir(const fsys::path& dir) {
  pilot::prepare_pilot_dir(dir);  // pilot.dir.unsafe when it is not ours
  const fsys::path reg_dir = registrations_dir(dir);
  fs::create_private_directories(reg_dir, "trigger.dir.io");
  fs::refuse_shared_directory(reg_dir, "pilot.dir.unsafe");
  return reg_dir;
}

Json Registration::content() const {
  Json j{{"id", id}, {"definition", definition}, {"input_template", input_template}};
  if (is_timer()) {
    j["every_s"] = every_s;
    j["at_minutes"] = at_minutes;
  } else {
    j["watch_dir"] = watch_dir.string();
    j["pattern"] = pattern;
    j["recursive"] = recursive;
    j["quiet_seconds"] = quiet_seconds;
    j["endpoint"] = endpoint;
  }
  return j;
}

Json Registration::to_json() const {
  Json j = content();
  j["kind"] = is_timer() ? "timer" : "watch";
  j["registered_at_ms"] = registered_at_ms;
  return j;
}

Registration Registration::from_json(const Json& j, const std::string& file) {
  auto bad = [&](const std::string& why) { return invalid("damaged registration file: " + why, {{"file", file}}); };
  if (!j.is_object()) throw bad("not a JSON object");
  Registration r;
  try {
    r.id = j.at("id").get<std::string>();
    r.definition = j.at("definition");
    r.input_template = j.at("input_template");
    r.registered_at_ms = j.value("registered_at_ms", std::int64_t{0});
    if (j.at("kind").get<std::string>() == "timer") {
      r.every_s = j.at("every_s").get<std::int64_t>();
      r.at_minutes = j.at("at_minutes").get<std::vector<int>>();
    } else {
      r.watch_dir = j.at("watch_dir").get<std::string>();
      r.pattern = j.at("pattern").get<std::string>();
      r.recursive = j.at("recursive").get<bool>();
      r.quiet_seconds = j.at("quiet_seconds").get<double>();
      r.endpoint = j.at("endpoint").get<std::string>();
    }
  } catch (const Json::exception& e) {
    throw bad(e.what());
  }
  return r;
}

void check_pattern(const std::string& pattern) {
  auto bad = [&](const std::string& why) { return invalid("bad --pattern '" + pattern + "': " + why, {{"pattern", pattern}}); };
  if (pattern.empty()) throw bad("empty");
  if (pattern.find('/') != std::string::npos) throw bad("a pattern matches a file's name, it holds no '/'");
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (i + 1 == pattern.size()) throw bad("a trailing '\\' escapes nothing");
      ++i;
    } else if (pattern[i] == '[') {
      std::size_t k = i + 1;
      if (k < pattern.size() && (pattern[k] == '!' || pattern[k] == '^')) ++k;
      if (k < pattern.size() && pattern[k] == ']') ++k;  // a literal ']' first
      while (k < pattern.size() && pattern[k] != ']') ++k;
      if (k >= pattern.size()) throw bad("'[' at offset " + std::to_string(i) + " is never closed");
      i = k;
    }
  }
}

std::int64_t parse_period(const std::string& text) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used > 0 ? text.substr(used) : "";
  const std::int64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (used == 0 || scale == 0 || n <= 0 || n > 366LL * 86400)
    throw invalid("bad --every '" + text + "': a positive number with s, m, h or d (e.g. 10m)", {{"every", text}});
  return n * scale;
}

int parse_time_of_day(const std::string& text) {
  int h = -1, m = -1;
  char rest = 0;
  if (text.size() != 5 || std::sscanf(text.c_str(), "%2d:%2d%c", &h, &m, &rest) != 2 || h < 0 || h > 23 || m < 0 ||
      m > 59)
    throw invalid("bad --at '" + text + "': HH:MM in UTC, 00:00 to 23:59", {{"at", text}});
  return h * 60 + m;
}

void validate(const Registration& r) {
  check_id(r.id);
  if (!r.definition.is_object()) throw invalid("the flow definition must be a JSON object", {{"id", r.id}});
  if (!r.input_template.is_object())
    throw invalid("the input template must be a JSON object", {{"id", r.id}});
  if (r.is_timer()) {
    if (r.every_s <= 0 && r.at_minutes.empty())
      throw invalid("a registration needs --watch DIR, or a timer (--every or --at)", {{"id", r.id}});
    for (int m : r.at_minutes)
      if (m < 0 || m >= 24 * 60) throw invalid("a time of day out of range", {{"id", r.id}});
    return;
  }
  if (r.every_s > 0 || !r.at_minutes.empty())
    throw invalid("a registration is a file watch or a timer, not both", {{"id", r.id}});
  if (!r.watch_dir.is_absolute()) throw invalid("the watch directory must be absolute", {{"watch", r.watch_dir.string()}});
  struct stat st {};
  if (::stat(r.watch_dir.c_str(), &st) != 0)
    throw invalid("the watch directory cannot be used: " + std::string(std::strerror(errno)),
                  {{"watch", r.watch_dir.string()}});
  if (!S_ISDIR(st.st_mode)) throw invalid("the watch path is not a directory", {{"watch", r.watch_dir.string()}});
  check_pattern(r.pattern);
  if (!(r.quiet_seconds >= 0) || r.quiet_seconds > 86400)
    throw invalid("--quiet-seconds must be between 0 and 86400", {{"id", r.id}});
}

std::vector<Registration> list(const fsys::path& dir) {
  std::vector<Registration> out;
  const fsys::path reg_dir = registrations_dir(dir);
  std::error_code ec;
  for (fsys::directory_iterator it(reg_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.front() == '.' || it->path().extension() != ".json") continue;
    out.push_back(read_registration(it->path()));
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error("trigger.dir.io", states_error::Runtime, "cannot list the registrations: " + ec.message(),
                {{"dir", reg_dir.string()}});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

AddResult add(const fsys::path& dir, Registration r) {
  validate(r);
  const fsys::path reg_dir = prepare_registrations_dir(dir);
  const fsys::path final_name = reg_dir / (r.id + ".json");
  for (;;) {
    struct stat st {};
    if (::stat(final_name.c_str(), &st) == 0) {
      Registration existing = read_registration(final_name);
      if (existing.content() != r.content())
        throw Error("trigger.registration.conflict", states_error::Runtime,
                    "registration '" + r.id +
                        "' exists with a different watch, timer, flow or template (remove it first to replace it)",
                    {{"id", r.id}, {"file", final_name.string()}});
      return {existing, true};
    }
    r.registered_at_ms = now_ms();
    const fsys::path temp = write_temp(reg_dir, r.to_json().dump(2) + "\n");
    const int rc = ::link(temp.c_str(), final_name.c_str());
    const int err = errno;
    ::unlink(temp.c_str());
    if (rc == 0) {
      fs::sync_directory(reg_dir);
      return {r, false};
    }
    if (err != EEXIST) throw io_error("cannot store the registration", final_name, err);
    // Lost a race with another add of the same id: compare with theirs.
  }
}

void remove(const fsys::path& dir, const std::string& id) {
  check_id(id);
  const fsys::path file = registrations_dir(dir) / (id + ".json");
  if (::unlink(file.c_str()) != 0) {
    if (errno == ENOENT)
      throw Error("trigger.registration.not_found", states_error::Runtime, "no registration '" + id + "'",
                  {{"id", id}, {"pilot", dir.string()}});
    throw io_error("cannot remove the registration", file, errno);
  }
  fs::sync_directory(registrations_dir(dir));
}

}  // namespace beamflow::triggers
