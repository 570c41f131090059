#include "pilot/intake.hpp"
#include "pilot/intake_archive.hpp"
#include "pilot/intake_detail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"
#include "platform/private_dir.hpp"
#include "run/run_store.hpp"

namespace beamflow::pilot {
namespace fsys = std::filesystem;

namespace detail {

Error io_error(const std::string& what, const fsys::path& file) {
  return Error("pilot.dir.io", states_error::Runtime, what + ": " + std::strerror(errno), {{"file", file.string()}});
}

Error invalid(const std::string& file, const std::string& why) {
  return Error("pilot.submission.invalid", states_error::Runtime, "bad submission: " + why, {{"file", file}});
}

namespace {
std::atomic<std::uint64_t> g_temp_counter{0};
}

// Named temporaries: unique in this process by the counter; O_EXCL makes
// them unique across processes (hosts sharing the directory may reuse our
// pid: then try the next name).
Temp write_temp(int inbox_fd, const fsys::path& inbox, const std::string& data, bool anonymous) {
  static const std::string prefix = ".submit-" + std::to_string(::getpid()) + "-";
  for (;;) {
    Temp t;
    if (anonymous) {
      t.fd = fs::detail::UniqueFd(::openat(inbox_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    } else {
      t.name = prefix + std::to_string(++g_temp_counter);
      t.fd = fs::detail::UniqueFd(::openat(inbox_fd, t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!t.fd && errno == EEXIST) continue;
    }
    if (!t.fd) throw io_error("cannot create a temporary file", inbox);
    if (const int err = fs::detail::write_all(t.fd.get(), data.data(), data.size())) {
      if (!anonymous) ::unlinkat(inbox_fd, t.name.c_str(), 0);
      errno = err;
      throw io_error("cannot write the submission", inbox / t.what());
    }
    return t;
  }
}

// Whether this directory takes anonymous files and /proc/self/fd can link
// them (tmpfs, ext4, XFS, btrfs do; NFS does not).
bool anonymous_files(int dir_fd) {
  const fs::detail::UniqueFd fd(::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  return fd && ::access(("/proc/self/fd/" + std::to_string(fd.get())).c_str(), F_OK) == 0;
}

fs::detail::UniqueFd open_dir(const fsys::path& dir) {
  fs::detail::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw io_error("cannot open the directory", dir);
  return fd;
}

int link_temp(const Temp& t, int dir_fd, const std::string& final_name) {
  const std::string source = t.link_source();
  if (::linkat(t.name.empty() ? AT_FDCWD : dir_fd, source.c_str(), dir_fd, final_name.c_str(),
               t.name.empty() ? AT_SYMLINK_FOLLOW : 0) == 0)
    return 0;
  return errno;
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

std::string fresh_id() {
  // One generator per thread, seeded once (a random_device per id costs a
  // share of a hand-off; `beamflow submit` of many inputs mints many).
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  const std::uint64_t a = gen(), b = gen();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%08x", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(b >> 32));
  return buf;
}

}  // namespace detail

bool is_final(const Error& e) noexcept { return e.id() == "pilot.submission.invalid"; }

namespace {

using detail::io_error;
using detail::invalid;
using detail::Temp;
using detail::open_dir;
using detail::read_submission;
using detail::write_temp;
using detail::fresh_id;
using detail::link_temp;
using detail::anonymous_files;
using detail::kInbox;
using detail::kAccepted;
using detail::kLedger;
using detail::kArchive;

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


// The submission file's text: what Submission::to_json().dump() gives (keys
// in order), with the definition's text dumped once per batch.
std::string submission_text(const std::string& definition_text, const Json& input, const std::string& run_id,
                            const std::string& submission_id, std::int64_t submitted_at_ms, std::int64_t uid) {
  std::string out;
  out.reserve(definition_text.size() + 256);
  out += "{\"definition\":";
  out += definition_text;
  out += ",\"input\":";
  out += input.dump();
  out += ",\"run_id\":";
  out += Json(run_id).dump();
  out += ",\"submission_id\":";
  out += Json(submission_id).dump();
  out += ",\"submitted_at_ms\":";
  out += std::to_string(submitted_at_ms);
  out += ",\"uid\":";
  out += std::to_string(uid);
  out += "}";
  return out;
}

Error conflict(const std::string& submission_id, const std::string& run_id) {
  return Error("pilot.submission.conflict", states_error::Runtime,
               "submission id '" + submission_id + "' was used for a different flow or input (run " + run_id + ")",
               {{"submission_id", submission_id}, {"run_id", run_id}});
}

// The answer to an id that is already handed over: its run id when it is
// the same flow and input, a conflict otherwise.
void answer_existing(const Submission& existing, const Json& definition, const Json& input,
                     Intake::Outcome& out) {
  if (existing.definition != definition || existing.input != input) {
    out.error = conflict(existing.submission_id, existing.run_id);
    return;
  }
  out.run_id = existing.run_id;
  out.existed = true;
}


// The entries of inbox/B.batch that wait: those B owns or that no batch
// owns yet (its writer links them after the file), and whose run does not
// exist yet.
void pending_of_batch(const fsys::path& dir, const fsys::path& file, Pending& out) {
  try {
    const auto ledger = open_dir(dir / kLedger);
    const auto b = detail::read_batch(file);
    for (const auto& e : b.entries) {
      const detail::FileId owner = detail::batch_owner(ledger.get(), e.submission.submission_id);
      if ((!owner || owner == b.id) &&
          !run::RunDirectory::exists(dir / "runs", e.submission.run_id))
        out.ready.push_back(e.submission);
    }
  } catch (const Error& e) {
    out.bad.push_back(std::string(kInbox) + "/" + file.filename().string() + ": " + e.message());
  }
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
  for (const char* sub : {kInbox, kAccepted, kLedger, "runs", "cancel"}) private_dir(dir / sub);
  private_dir(dir / kAccepted / kArchive);
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
  Intake intake(dir);
  auto out = intake.submit({{std::make_shared<const Json>(definition), input, submission_id}});
  if (out.front().error) throw *out.front().error;
  return {out.front().run_id, out.front().existed};
}

Intake::Intake(fsys::path dir) : m_dir(std::move(dir)) {
  prepare_pilot_dir(m_dir);
  m_inbox = open_dir(m_dir / kInbox);
  m_accepted = open_dir(m_dir / kAccepted);
  m_archive = open_dir(m_dir / kAccepted / kArchive);
  m_ledger = open_dir(m_dir / kLedger);
  m_anonymous = anonymous_files(m_inbox.get());
}

bool Intake::handed_over(const std::string& submission_id) const {
  const std::string name = submission_id + ".json";
  struct stat st {};
  // A batch's entry (the ledger link), else a file: inbox/ first, a pilot
  // moves inbox -> accepted -> archive, so looking in the order of those
  // moves never misses a submission being moved meanwhile.
  return ::fstatat(m_ledger.get(), submission_id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ||
         ::fstatat(m_inbox.get(), name.c_str(), &st, 0) == 0 || ::fstatat(m_accepted.get(), name.c_str(), &st, 0) == 0 ||
         ::fstatat(m_archive.get(), name.c_str(), &st, 0) == 0;
}

std::vector<Intake::Outcome> Intake::submit(const std::vector<Item>& batch, Existing existing_mode) {
  const fsys::path inbox = m_dir / kInbox;
  std::vector<Outcome> out(batch.size());
  // The answer to an id already handed over.
  auto answer = [&](const Item& item, Outcome& o) {
    if (existing_mode == Existing::Trust) {
      o.run_id.clear();
      o.existed = true;
      return true;
    }
    if (auto existing = find_submission(m_dir, o.submission_id)) {
      o.run_id.clear();
      answer_existing(*existing, *item.definition, item.input, o);
      return true;
    }
    return false;  // gone meanwhile
  };
  // Items to write, and the first item of each id (a repeat answers as a
  // retry of it once the batch is durable).
  std::vector<std::size_t> fresh;
  std::unordered_map<std::string, std::size_t> first;
  std::vector<std::pair<std::size_t, std::size_t>> repeats;  // (item, its first)
  for (std::size_t i = 0; i < batch.size(); ++i) {
    out[i].submission_id = batch[i].submission_id.empty() ? fresh_id() : batch[i].submission_id;
    try {
      check_submission_id(out[i].submission_id);
      detail::refuse_watcher_id(out[i].submission_id);
      if (!batch[i].definition) throw invalid(out[i].submission_id, "no definition");
      if (auto [it, inserted] = first.emplace(out[i].submission_id, i); !inserted) {
        repeats.emplace_back(i, it->second);
        continue;
      }
      // Already handed over (and perhaps already accepted by a pilot)?
      if (handed_over(out[i].submission_id) && answer(batch[i], out[i])) continue;
      fresh.push_back(i);
    } catch (const Error& e) {
      out[i].error = e;
    }
  }

  // Written and synced in chunks (a descriptor each while open), linked after
  // the whole chunk's data is durable.
  constexpr std::size_t kChunk = 256;
  const std::int64_t at = now_ms();
  const auto uid = static_cast<std::int64_t>(::geteuid());
  const int dir_fd = m_inbox.get();
  std::unordered_map<const Json*, std::string> definition_text;
  for (std::size_t c = 0; c < fresh.size(); c += kChunk) {
    const std::size_t n = std::min(kChunk, fresh.size() - c);
    std::vector<Temp> temps;
    temps.reserve(n);
    auto discard = [&](std::size_t from) {
      for (std::size_t k = from; k < temps.size(); ++k)
        if (!temps[k].name.empty()) ::unlinkat(dir_fd, temps[k].name.c_str(), 0);
    };
    try {
      for (std::size_t k = 0; k < n; ++k) {
        const Item& item = batch[fresh[c + k]];
        Outcome& o = out[fresh[c + k]];
        o.run_id = run::new_run_id();
        auto [text, inserted] = definition_text.try_emplace(item.definition.get());
        if (inserted) text->second = item.definition->dump();
        temps.push_back(write_temp(dir_fd, inbox,
                                   submission_text(text->second, item.input, o.run_id, o.submission_id, at, uid),
                                   m_anonymous));
      }
      // One file: its fsync. Several: one syncfs(2) of the file system
      // instead of an fsync each (each of which flushes the device's
      // cache: about 100 files/s on a virtio disk).
      if (temps.size() == 1 && ::fsync(temps.front().fd.get()) != 0)
        throw io_error("cannot sync the submission", inbox / temps.front().what());
      if (temps.size() > 1 && ::syncfs(dir_fd) != 0) throw io_error("cannot sync the submissions", inbox);
      // A named temporary is closed now (on NFS a deferred write error shows
      // here); an anonymous one stays open until linked (its only name).
      for (auto& t : temps)
        if (!t.name.empty() && t.fd.close() != 0) throw io_error("cannot write the submission", inbox / t.name);
    } catch (...) {
      discard(0);
      throw;
    }
    for (std::size_t k = 0; k < n; ++k) {
      Outcome& o = out[fresh[c + k]];
      const Item& item = batch[fresh[c + k]];
      const std::string final_name = o.submission_id + ".json";
      // link(2), not rename(2): it never replaces, so the first submitter wins.
      for (int attempt = 0;; ++attempt) {
        const int e = link_temp(temps[k], dir_fd, final_name);
        if (e == 0) break;
        if (e != EEXIST || attempt == 3) {
          discard(k);
          errno = e;
          throw io_error("cannot hand the submission over", inbox / final_name);
        }
        // Lost a race with a submitter using the same id: answer as a retry
        // (or link again when that submission vanished meanwhile).
        try {
          if (answer(item, o)) break;
        } catch (const Error& e) {
          o.run_id.clear();
          o.error = e;
          break;
        }
      }
      if (!temps[k].name.empty()) ::unlinkat(dir_fd, temps[k].name.c_str(), 0);
      temps[k].fd.close();  // an anonymous one: its data was synced before the link
    }
  }
  // One fsync makes every link of the batch (and the temporaries' removal)
  // durable, and a raced submission we answered with, too.
  if (!fresh.empty() && ::fsync(dir_fd) != 0) throw io_error("cannot sync the inbox", inbox);

  for (const auto& [i, f] : repeats) {
    if (out[f].error) {
      out[i].error = out[f].error;
      continue;
    }
    if (existing_mode == Existing::Verify &&
        (*batch[i].definition != *batch[f].definition || batch[i].input != batch[f].input)) {
      out[i].error = conflict(out[i].submission_id, out[f].run_id);
      continue;
    }
    out[i].run_id = out[f].run_id;
    out[i].existed = true;
  }
  return out;
}

Pending pending(const fsys::path& dir) {
  Pending out;
  const fsys::path inbox = dir / kInbox;
  std::error_code ec;
  for (fsys::directory_iterator it(inbox, ec), end; !ec && it != end; it.increment(ec)) {
    const fsys::path p = it->path();
    const std::string name = p.filename().string();
    if (name.front() == '.') continue;  // temporaries of live submitters
    if (p.extension() == ".batch") {
      pending_of_batch(dir, p, out);
      continue;
    }
    if (p.extension() != ".json") continue;
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
  // Moved already: a start that failed after the move is tried again (and
  // the file may be archived since).
  struct stat st {};
  if (::rename(from.c_str(), to.c_str()) != 0 &&
      !(errno == ENOENT && (::stat(to.c_str(), &st) == 0 ||
                            ::stat((dir / kAccepted / kArchive / (submission_id + ".json")).c_str(), &st) == 0)))
    throw io_error("cannot move the submission to accepted/", from);
  // Not synced (it cost two fsyncs a flow, most of a pilot flow's syncs once
  // the runs share a group commit): nothing depends on the move being
  // durable. A crash that undoes it leaves the submission in inbox/, whose
  // run exists, so the next pilot resumes that run (a finished one answers
  // its recorded result at once) and moves it again; is_submitted() and
  // find_submission() find it in either place.
}

namespace {

// The entry of a format 2 batch (a watcher's, no ledger link) with this
// id, in inbox/ then accepted/ (the order a pilot moves them), then, with
// `archived`, accepted/archive/: each batch's ids read, the one holding it
// read whole.
std::optional<Submission> find_unlinked(const fsys::path& dir, const std::string& submission_id, bool archived) {
  for (const fsys::path& folder : {dir / kInbox, dir / kAccepted, dir / kAccepted / kArchive}) {
    if (!archived && folder.filename() == kArchive) break;
    std::error_code ec;
    for (fsys::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      const fsys::path& p = it->path();
      struct stat st {};
      // A format 1 batch that owns entries has their links (nlink > 1).
      if (p.extension() != ".batch" || ::stat(p.c_str(), &st) != 0 || st.st_nlink > 1) continue;
      try {
        int version = 1;
        const auto ids = detail::batch_ids(p, &version);
        if (!detail::owns_unlinked(version) || std::find(ids.begin(), ids.end(), submission_id) == ids.end()) continue;
        for (auto& e : detail::read_batch(p).entries)
          if (e.submission.submission_id == submission_id) return std::move(e.submission);
      } catch (const Error&) {
        if (::lstat(p.c_str(), &st) == 0) throw;  // moved meanwhile: met again in accepted/
      }
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_submitted(const fsys::path& dir, const std::string& submission_id) {
  const std::string name = submission_id + ".json";
  struct stat st {};
  // handled.ids last: it covers an archived batch before the batch leaves
  // accepted/.
  return ::lstat((dir / kLedger / submission_id).c_str(), &st) == 0 || ::stat((dir / kInbox / name).c_str(), &st) == 0 ||
         ::stat((dir / kAccepted / name).c_str(), &st) == 0 ||
         ::stat((dir / kAccepted / kArchive / name).c_str(), &st) == 0 ||
         (is_watcher_id(submission_id) &&
          (find_unlinked(dir, submission_id, false) || HandledIds(dir).contains(submission_id)));
}

std::optional<Submission> find_submission(const fsys::path& dir, const std::string& submission_id) {
  check_submission_id(submission_id);
  // inbox/ first: a pilot moves inbox -> accepted -> archive, so looking in
  // the order of those moves never misses a submission being moved meanwhile.
  for (const fsys::path& folder : {dir / kInbox, dir / kAccepted, dir / kAccepted / kArchive}) {
    const fsys::path p = folder / (submission_id + ".json");
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return read_submission(p);
  }
  // A batch's: its ledger entry is the batch file that owns it.
  const fsys::path entry = dir / kLedger / submission_id;
  struct stat st {};
  if (::lstat(entry.c_str(), &st) != 0)
    return is_watcher_id(submission_id) ? find_unlinked(dir, submission_id, true) : std::nullopt;
  for (auto& e : detail::read_batch(entry).entries)
    if (e.submission.submission_id == submission_id) return std::move(e.submission);
  return std::nullopt;
}

namespace {

using HasRun = std::function<bool(const std::string&)>;

// The batches that own an id without a run (accepted_without_run()): the
// ledger's names, and a stat of each such id's entry (its owner).
std::vector<detail::FileId> owners_without_run(int ledger_fd, const fsys::path& ledger, const HasRun& has_run) {
  std::vector<detail::FileId> out;
  std::error_code ec;
  for (fsys::directory_iterator it(ledger, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string id = it->path().filename().string();
    if (id.front() == '.' || has_run(id)) continue;
    const detail::FileId owner = detail::batch_owner(ledger_fd, id);
    if (owner && std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
  }
  return out;
}

// list_submissions(), list_readable() and accepted_without_run(): `lenient`
// null, a file that cannot be read throws; else it is left out and named in
// lenient->bad. `has_run` given: what it names is left out, unread, and a
// file or batch left out whole is named in `complete` (when given).
std::vector<Submission> list_folders(const fsys::path& dir, Folders folders, Pending* lenient,
                                     const HasRun* has_run = nullptr, std::vector<std::string>* complete = nullptr) {
  std::vector<Submission> out;
  // A submission read in inbox/ and moved by a running pilot before
  // accepted/ is listed is met twice; it is one submission (its id is what
  // a pilot runs once), so it is listed once.
  std::unordered_set<std::string> seen;
  const auto add = [&](Submission s) {
    if (seen.insert(s.submission_id).second) out.push_back(std::move(s));
  };
  fs::detail::UniqueFd ledger;  // opened at the first batch
  std::optional<std::vector<detail::FileId>> wanted;  // has_run: the batches to read, found at the first
  const std::string archived = std::string(kAccepted) + "/" + kArchive;
  for (const std::string& sub : {std::string(kInbox), std::string(kAccepted), archived}) {
    if ((folders == Folders::Accepted && sub != kAccepted) || (folders != Folders::All && sub == archived)) continue;
    std::error_code ec;
    for (fsys::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      const fsys::path& p = it->path();
      if (p.filename().string().front() == '.') continue;
      // Listed in the order a pilot moves them (inbox -> accepted): one
      // moved meanwhile is gone from inbox/ and found in accepted/.
      struct stat st {};
      const auto whole = [&] {
        if (complete) complete->push_back(p.filename().string());
      };
      try {
        if (p.extension() == ".json") {
          if (!(has_run && (*has_run)(p.stem().string()))) add(read_submission(p));
          else whole();
        }
        if (p.extension() != ".batch") continue;
        if (!ledger) ledger = open_dir(dir / kLedger);
        if (has_run) {
          if (::stat(p.c_str(), &st) != 0) continue;
          if (st.st_nlink > 1) {  // a format 1 batch owning entries: told by the ledger's names
            if (!wanted) wanted = owners_without_run(ledger.get(), dir / kLedger, *has_run);
            if (std::find(wanted->begin(), wanted->end(), detail::id_of(st)) == wanted->end()) {
              whole();
              continue;
            }
          } else {  // a format 2 batch (its own ledger entry): told by its ids
            const auto ids = detail::batch_ids(p);
            if (std::all_of(ids.begin(), ids.end(), *has_run)) {
              whole();
              continue;
            }
          }
        }
        auto b = detail::read_batch(p);
        for (auto& e : b.entries) {
          const detail::FileId owner = detail::batch_owner(ledger.get(), e.submission.submission_id);
          if ((owner == b.id || (!owner && detail::owns_unlinked(b.version))) &&
              !(has_run && (*has_run)(e.submission.submission_id)))
            add(std::move(e.submission));
        }
      } catch (const Error& e) {
        if (::lstat(p.c_str(), &st) != 0) continue;  // moved or removed meanwhile
        if (!lenient) throw;
        lenient->bad.push_back(std::string(sub) + "/" + p.filename().string() + ": " + e.message());
      }
    }
  }
  return out;
}

}  // namespace

std::vector<Submission> list_submissions(const fsys::path& dir) {
  return list_folders(dir, Folders::All, nullptr);
}

Pending list_readable(const fsys::path& dir, Folders folders) {
  Pending out;
  out.ready = list_folders(dir, folders, &out);
  return out;
}

Pending accepted_without_run(const fsys::path& dir, const HasRun& has_run, std::vector<std::string>* complete) {
  Pending out;
  out.ready = list_folders(dir, Folders::Accepted, &out, &has_run, complete);
  return out;
}

}  // namespace beamflow::pilot
