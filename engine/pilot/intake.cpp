#include "pilot/intake.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"
#include "run/run_store.hpp"

namespace beamflow::pilot {
namespace fsys = std::filesystem;

namespace {

constexpr const char* kInbox = "inbox";
constexpr const char* kAccepted = "accepted";

Error io_error(const std::string& what, const fsys::path& file) {
  return Error("pilot.dir.io", states_error::Runtime, what + ": " + std::strerror(errno), {{"file", file.string()}});
}

Error invalid(const std::string& file, const std::string& why) {
  return Error("pilot.submission.invalid", states_error::Runtime, "bad submission: " + why, {{"file", file}});
}

// Exists, is ours, and others cannot write to it; created 0700 when missing.
void private_dir(const fsys::path& dir) {
  fs::create_private_directories(dir, "pilot.dir.io");
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw io_error("cannot stat the directory", dir);
  if (!S_ISDIR(st.st_mode))
    throw Error("pilot.dir.unsafe", states_error::Runtime, "not a directory", {{"dir", dir.string()}});
  // Another user's pilot would run our submission as them, and ours theirs.
  if (st.st_uid != ::geteuid())
    throw Error("pilot.dir.unsafe", states_error::Runtime,
                "the pilot directory belongs to uid " + std::to_string(st.st_uid) + ", not to you (uid " +
                    std::to_string(::geteuid()) + "): only its owner may submit to or run this pilot",
                {{"dir", dir.string()}});
  fs::refuse_shared_directory(dir, "pilot.dir.unsafe");
}

std::string fresh_id() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%08x", rd(), rd() & 0xffff, rd() & 0xffff, rd());
  return buf;
}

// Writes `data` to a temporary file in `dir`, fsyncs it and returns its path.
fsys::path write_temp(const fsys::path& dir, const std::string& data) {
  std::string templ = (dir / ".submit-XXXXXX").string();
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) throw io_error("cannot create a temporary file", dir);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(templ.c_str());
      errno = e;
      throw io_error("cannot write the submission", templ);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int e = errno;
    ::unlink(templ.c_str());
    errno = e;
    throw io_error("cannot sync the submission", templ);
  }
  return templ;
}

Submission read_submission(const fsys::path& file) {
  const std::string text = fs::read_file(file);
  Json j;
  try {
    j = parse_json(text, file.string());
  } catch (const Error& e) {
    throw invalid(file.string(), e.message());
  }
  return Submission::from_json(j, file.string());
}

}  // namespace

Json Submission::to_json() const {
  return Json{{"submission_id", submission_id}, {"run_id", run_id},      {"submitted_at_ms", submitted_at_ms},
              {"uid", uid},                     {"definition", definition}, {"input", input}};
}

Submission Submission::from_json(const Json& j, const std::string& file) {
  if (!j.is_object()) throw invalid(file, "not a JSON object");
  auto text = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
      throw invalid(file, std::string("'") + key + "' must be a non-empty string");
    return j[key].get<std::string>();
  };
  auto integer = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer())
      throw invalid(file, std::string("'") + key + "' must be an integer");
    return j[key].get<std::int64_t>();
  };
  Submission s;
  s.submission_id = text("submission_id");
  s.run_id = text("run_id");
  s.submitted_at_ms = integer("submitted_at_ms");
  s.uid = integer("uid");
  if (!j.contains("definition") || !j["definition"].is_object()) throw invalid(file, "'definition' must be an object");
  if (!j.contains("input")) throw invalid(file, "'input' is missing");
  s.definition = j["definition"];
  s.input = j["input"];
  return s;
}

void prepare_pilot_dir(const fsys::path& dir) {
  private_dir(dir);
  for (const char* sub : {kInbox, kAccepted, "runs", "cancel"}) private_dir(dir / sub);
}

void check_submission_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 128 && id.front() != '.' &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_' || c == '.';
                  });
  if (!ok)
    throw Error("pilot.submission.id", states_error::Runtime,
                "a submission id is 1-128 letters, digits, '-', '_' or '.', not starting with '.': '" + id + "'",
                {{"submission_id", id}});
}

SubmitResult submit(const fsys::path& dir, const Json& definition, const Json& input,
                    const std::string& submission_id) {
  prepare_pilot_dir(dir);
  Submission s;
  s.submission_id = submission_id.empty() ? fresh_id() : submission_id;
  check_submission_id(s.submission_id);
  // Already handed over (and perhaps already accepted by a pilot)?
  if (auto existing = find_submission(dir, s.submission_id)) {
    if (existing->definition != definition || existing->input != input)
      throw Error("pilot.submission.conflict", states_error::Runtime,
                  "submission id '" + s.submission_id + "' was used for a different flow or input (run " +
                      existing->run_id + ")",
                  {{"submission_id", s.submission_id}, {"run_id", existing->run_id}});
    return {existing->run_id, true};
  }
  s.run_id = run::new_run_id();
  s.submitted_at_ms = now_ms();
  s.uid = static_cast<std::int64_t>(::geteuid());
  s.definition = definition;
  s.input = input;
  const fsys::path inbox = dir / kInbox;
  const fsys::path temp = write_temp(inbox, s.to_json().dump());
  const fsys::path final_name = inbox / (s.submission_id + ".json");
  // link(2), not rename(2): it never replaces, so the first submitter wins.
  const int rc = ::link(temp.c_str(), final_name.c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (rc != 0) {
    if (link_errno != EEXIST) {
      errno = link_errno;
      throw io_error("cannot hand the submission over", final_name);
    }
    // Lost a race with a submitter using the same id: answer as a retry.
    return submit(dir, definition, input, s.submission_id);
  }
  fs::sync_directory(inbox);
  return {s.run_id, false};
}

Pending pending(const fsys::path& dir) {
  Pending out;
  const fsys::path inbox = dir / kInbox;
  std::error_code ec;
  for (fsys::directory_iterator it(inbox, ec), end; !ec && it != end; it.increment(ec)) {
    const fsys::path p = it->path();
    const std::string name = p.filename().string();
    if (name.front() == '.' || p.extension() != ".json") continue;  // temporaries of live submitters
    try {
      if (!it->is_regular_file()) throw invalid(p.string(), "not a regular file");
      Submission s = read_submission(p);
      if (s.submission_id + ".json" != name) throw invalid(p.string(), "file name and submission_id differ");
      out.ready.push_back(std::move(s));
    } catch (const Error& e) {
      out.bad.push_back(std::string(kInbox) + "/" + name + ": " + e.message());
    }
  }
  if (ec) throw Error("pilot.dir.io", states_error::Runtime, "cannot list the inbox: " + ec.message(),
                      {{"dir", inbox.string()}});
  std::sort(out.bad.begin(), out.bad.end());
  std::sort(out.ready.begin(), out.ready.end(), [](const Submission& a, const Submission& b) {
    return a.submitted_at_ms != b.submitted_at_ms ? a.submitted_at_ms < b.submitted_at_ms
                                                  : a.submission_id < b.submission_id;
  });
  return out;
}

void mark_accepted(const fsys::path& dir, const std::string& submission_id) {
  check_submission_id(submission_id);
  const fsys::path from = dir / kInbox / (submission_id + ".json");
  const fsys::path to = dir / kAccepted / (submission_id + ".json");
  if (::rename(from.c_str(), to.c_str()) != 0) throw io_error("cannot move the submission to accepted/", from);
  fs::sync_directory(dir / kAccepted);
  fs::sync_directory(dir / kInbox);
}

bool is_submitted(const fsys::path& dir, const std::string& submission_id) {
  const std::string name = submission_id + ".json";
  struct stat st {};
  return ::stat((dir / kInbox / name).c_str(), &st) == 0 || ::stat((dir / kAccepted / name).c_str(), &st) == 0;
}

std::optional<Submission> find_submission(const fsys::path& dir, const std::string& submission_id) {
  check_submission_id(submission_id);
  // inbox/ first: a pilot moves inbox -> accepted, so looking in the order
  // of that move never misses a submission being moved meanwhile.
  for (const char* sub : {kInbox, kAccepted}) {
    const fsys::path p = dir / sub / (submission_id + ".json");
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return read_submission(p);
  }
  return std::nullopt;
}

}  // namespace beamflow::pilot
