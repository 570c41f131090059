// Batch files: many submissions in one file, each owned through its ledger
// link (intake.hpp's layout), written by Intake::submit_batch_file and read
// by the pilot's InboxReader.
#include "pilot/intake_batch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <tuple>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "pilot/intake_detail.hpp"
#include "platform/fs.hpp"
#include "run/run_store.hpp"

namespace beamflow::pilot {
namespace fsys = std::filesystem;

namespace detail {

namespace {

constexpr const char* kBatchExt = ".batch";

// Appends one entry's line to `out`:
// {"definition":K,"input":...,"run_id":...,"submission_id":...}. Serialized
// straight into the batch's text: a string per part and per line was a
// measured share of a trigger's hand-off (about 0.5 us of 1.4 a file).
void append_entry_line(std::string& out, std::size_t definition, const Json& input, const std::string& run_id,
                       const std::string& submission_id) {
  nlohmann::detail::serializer<Json> json(nlohmann::detail::output_adapter<char>(out), ' ');
  out += "{\"definition\":";
  out += std::to_string(definition);
  out += ",\"input\":";
  json.dump(input, false, false, 0);
  out += ",\"run_id\":";
  json.dump(Json(run_id), false, false, 0);
  out += ",\"submission_id\":";
  json.dump(Json(submission_id), false, false, 0);
  out += "}\n";
}

Submission entry_of(const Json& j, const std::vector<Json>& definitions, std::int64_t at, std::int64_t uid,
                    const std::string& where) {
  if (!j.is_object()) throw invalid(where, "not a JSON object");
  auto text = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
      throw invalid(where, std::string("'") + key + "' must be a non-empty string");
    return j[key].get<std::string>();
  };
  Submission s;
  s.submission_id = text("submission_id");
  check_submission_id(s.submission_id);
  s.run_id = text("run_id");
  if (!j.contains("definition") || !j["definition"].is_number_unsigned() ||
      j["definition"].get<std::size_t>() >= definitions.size())
    throw invalid(where, "'definition' must index the header's definitions");
  if (!j.contains("input")) throw invalid(where, "'input' is missing");
  s.definition = definitions[j["definition"].get<std::size_t>()];
  s.input = j["input"];
  s.submitted_at_ms = at;
  s.uid = uid;
  return s;
}

struct Header {
  std::vector<Json> definitions;
  std::int64_t at = 0, uid = -1;
  int version = 1;
};
Header header_of(std::string_view line, const std::string& file) {
  Json h;
  try {
    h = parse_json(line, file);
  } catch (const Error& e) {
    throw invalid(file, "batch header: " + e.message());
  }
  const int version = h.is_object() ? h.value("beamflow_batch", 0) : 0;
  if ((version != 1 && version != 2) || !h.contains("definitions") ||
      !h["definitions"].is_array() || !h.contains("submitted_at_ms") || !h["submitted_at_ms"].is_number_integer() ||
      !h.contains("uid") || !h["uid"].is_number_integer())
    throw invalid(file, "not a batch file (header {\"beamflow_batch\": 1 or 2, \"definitions\", \"submitted_at_ms\", \"uid\"})");
  Header out;
  out.version = version;
  for (const auto& d : h["definitions"]) {
    if (!d.is_object()) throw invalid(file, "batch header: a definition is not an object");
    out.definitions.push_back(d);
  }
  out.at = h["submitted_at_ms"].get<std::int64_t>();
  out.uid = h["uid"].get<std::int64_t>();
  return out;
}

}  // namespace

}  // namespace detail

bool is_watcher_id(std::string_view id) {
  const auto all = [](std::string_view s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), pred);
  };
  const std::size_t dot = id.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 > id.size()) return false;
  const std::string_view tail = id.substr(dot + 2);
  if (id[dot + 1] == 'f')
    return tail.size() == 32 && all(tail, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  // An instant in milliseconds since the epoch (13 digits today): short
  // numbered ids (run.t2) stay the users'.
  return id[dot + 1] == 't' && tail.size() >= 10 && all(tail, [](char c) { return c >= '0' && c <= '9'; });
}

namespace detail {

void refuse_watcher_id(const std::string& id) {
  if (is_watcher_id(id))
    throw Error("pilot.submission.id", states_error::Runtime,
                "'" + id + "' is a trigger watcher's submission id (REGISTRATION.f + 32 hex digits, "
                "REGISTRATION.t + 10 or more digits): only the watcher hands those over (its batch ledger), choose another",
                {{"submission_id", id}});
}

FileId id_of(const struct stat& st) { return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)}; }

BatchFile read_batch(const fsys::path& file) {
  BatchFile out;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw io_error("cannot stat the batch", file);
  out.id = id_of(st);
  const std::string text = fs::read_file(file);
  out.name = file.stem().string();
  const std::size_t end_of_header = text.find('\n');
  if (end_of_header == std::string::npos) throw invalid(file.string(), "no batch header line");
  Header h = header_of(std::string_view(text).substr(0, end_of_header), file.string());
  std::size_t line_no = 1;
  for (std::size_t at = end_of_header + 1; at < text.size();) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    ++line_no;
    const std::string where = file.string() + " line " + std::to_string(line_no);
    try {
      const Json j = parse_json(std::string_view(text).substr(at, nl - at), where);
      out.entries.push_back({entry_of(j, h.definitions, h.at, h.uid, where), at, nl - at});
    } catch (const Error& e) {
      out.bad.push_back(where + ": " + e.message());
    }
    at = nl + 1;
  }
  out.definitions = std::move(h.definitions);
  out.version = h.version;
  return out;
}

std::vector<std::string> batch_ids(const fsys::path& file, int* version) {
  const std::string text = fs::read_file(file);
  const std::size_t end_of_header = text.find('\n');
  if (end_of_header == std::string::npos) throw invalid(file.string(), "no batch header line");
  // The header is parsed (it is checked as read_batch checks it); the
  // entries are not: append_entry_line writes the id last, after the input
  // (which may hold the same key), so its last occurrence in a line is it.
  const Header h = header_of(std::string_view(text).substr(0, end_of_header), file.string());
  if (version) *version = h.version;
  constexpr std::string_view key = ",\"submission_id\":\"";
  std::vector<std::string> out;
  for (std::size_t at = end_of_header + 1; at < text.size();) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view line = std::string_view(text).substr(at, nl - at);
    const std::size_t k = line.rfind(key);
    if (k != std::string_view::npos && line.size() >= k + key.size() + 2 && line.substr(line.size() - 2) == "\"}") {
      out.emplace_back(line.substr(k + key.size(), line.size() - 2 - k - key.size()));
    } else if (!line.empty()) {  // written by another hand: parsed
      try {
        const Json j = parse_json(line, file.string());
        if (j.is_object() && j.contains("submission_id") && j["submission_id"].is_string())
          out.push_back(j["submission_id"].get<std::string>());
      } catch (const Error&) {  // a bad line: read_batch names it, nothing runs it
      }
    }
    at = nl + 1;
  }
  return out;
}

Submission read_batch_entry(const fsys::path& file, std::size_t offset, std::size_t length,
                            const std::vector<Json>& definitions) {
  const fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw io_error("cannot open the batch", file);
  std::string line(length, '\0');
  if (::pread(fd.get(), line.data(), length, static_cast<off_t>(offset)) != static_cast<ssize_t>(length))
    throw io_error("cannot read the batch", file);
  const std::string where = file.string() + " at " + std::to_string(offset);
  // The header's time and uid are not kept per entry: read them again.
  return entry_of(parse_json(line, where), definitions, 0, -1, where);
}

FileId batch_owner(int ledger_fd, const std::string& submission_id) {
  struct stat st {};
  return ::fstatat(ledger_fd, submission_id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? id_of(st) : FileId{};
}

FileId claim(int inbox_fd, int accepted_fd, int ledger_fd, const std::string& submission_id, const std::string& file,
             FileId ours) {
  // link(2) never replaces: the first batch to link an id owns it. A hard
  // link is a name and no inode (no allocation, nothing to write).
  for (const int dir : {inbox_fd, accepted_fd}) {
    if (::linkat(dir, file.c_str(), ledger_fd, submission_id.c_str(), 0) == 0) return ours;
    if (errno == EEXIST) return batch_owner(ledger_fd, submission_id);
    if (errno != ENOENT) return {};  // ENOENT: moved to accepted/ meanwhile
  }
  return {};
}

}  // namespace detail

using detail::io_error;

namespace {

// A batch's items sorted: each one's id (a fresh one when it has none)
// checked, the first item of each id to write, the repeats answered from
// it once the batch is written (answer_repeats).
struct Plan {
  std::vector<std::size_t> fresh;
  std::vector<std::pair<std::size_t, std::size_t>> repeats;  // (item, its first)
};
Plan plan_batch(const std::vector<Intake::Item>& batch, std::vector<Intake::Outcome>& out, bool watcher) {
  Plan plan;
  // Keys are views of `out`'s ids, which stay as they are from here on.
  std::unordered_map<std::string_view, std::size_t> first;
  first.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    out[i].submission_id = batch[i].submission_id.empty() ? detail::fresh_id() : batch[i].submission_id;
    try {
      check_submission_id(out[i].submission_id);
      if (!watcher) detail::refuse_watcher_id(out[i].submission_id);
      if (!batch[i].definition) throw detail::invalid(out[i].submission_id, "no definition");
      if (auto [it, inserted] = first.emplace(out[i].submission_id, i); !inserted) {
        plan.repeats.emplace_back(i, it->second);
        continue;
      }
      plan.fresh.push_back(i);
    } catch (const Error& e) {
      out[i].error = e;
    }
  }
  return plan;
}

void answer_repeats(const Plan& plan, std::vector<Intake::Outcome>& out) {
  for (const auto& [i, f] : plan.repeats) {
    out[i].error = out[f].error;
    out[i].run_id = out[f].run_id;
    out[i].existed = !out[f].error;
  }
}

// Writes the items `which` as one batch file inbox/B.batch of `version`
// (a header naming each distinct definition once, a line per item, a run id
// minted for each), durable under its name, inbox/ synced: its name B.batch
// and identity.
std::pair<std::string, detail::FileId> write_batch(int inbox_fd, const fsys::path& inbox, bool anonymous, int version,
                                                   const std::vector<Intake::Item>& batch,
                                                   const std::vector<std::size_t>& which,
                                                   std::vector<Intake::Outcome>& out) {
  const std::string name = run::new_run_id();
  std::unordered_map<const Json*, std::size_t> index;
  Json definitions = Json::array();
  std::string lines;
  for (const std::size_t i : which) {
    auto [it, inserted] = index.try_emplace(batch[i].definition.get(), index.size());
    if (inserted) definitions.push_back(*batch[i].definition);
    out[i].run_id = run::new_run_id();
    detail::append_entry_line(lines, it->second, batch[i].input, out[i].run_id, out[i].submission_id);
  }
  const Json header{{"beamflow_batch", version},
                    {"batch", name},
                    {"submitted_at_ms", now_ms()},
                    {"uid", static_cast<std::int64_t>(::geteuid())},
                    {"definitions", std::move(definitions)}};
  const std::string file = name + detail::kBatchExt;
  // Durable under its name in inbox/ before any ledger link names it (1),
  // before submit() answers (2).
  detail::Temp t = detail::write_temp(inbox_fd, inbox, header.dump() + "\n" + lines, anonymous);
  if (::fsync(t.fd.get()) != 0) {
    if (!t.name.empty()) ::unlinkat(inbox_fd, t.name.c_str(), 0);
    throw io_error("cannot sync the batch", inbox / t.what());
  }
  if (const int e = detail::link_temp(t, inbox_fd, file)) {
    if (!t.name.empty()) ::unlinkat(inbox_fd, t.name.c_str(), 0);
    errno = e;
    throw io_error("cannot hand the batch over", inbox / file);
  }
  if (!t.name.empty()) ::unlinkat(inbox_fd, t.name.c_str(), 0);
  struct stat st {};
  if (::fstat(t.fd.get(), &st) != 0) throw io_error("cannot stat the batch", inbox / file);
  t.fd.close();
  if (::fsync(inbox_fd) != 0) throw io_error("cannot sync the inbox", inbox);
  return {file, detail::id_of(st)};
}

}  // namespace

std::vector<Intake::Outcome> Intake::submit_batch_file(const std::vector<Item>& batch) {
  std::vector<Outcome> out(batch.size());
  const Plan plan = plan_batch(batch, out, false);
  if (!plan.fresh.empty()) {
    const auto [file, ours] = write_batch(m_inbox.get(), m_dir / detail::kInbox, m_anonymous, 1, batch, plan.fresh, out);
    // The ledger: one hard link per item; an id another batch owns is that
    // one's. A pilot that read the batch meanwhile linked ours for us.
    for (const std::size_t i : plan.fresh) {
      const std::string& id = out[i].submission_id;
      const detail::FileId owner = detail::claim(m_inbox.get(), m_accepted.get(), m_ledger.get(), id, file, ours);
      if (!owner) throw io_error("cannot link the submission in the ledger", m_dir / detail::kLedger / id);
      if (owner != ours) {
        out[i].run_id.clear();
        out[i].existed = true;
      }
    }
    if (::fsync(m_ledger.get()) != 0) throw io_error("cannot sync the ledger", m_dir / detail::kLedger);
  }
  answer_repeats(plan, out);
  return out;
}

// --- A watcher's batch ledger ---

namespace {

// The ids handed over to `dir` by any means: ledger links, submission
// files, and every batch's entries (a format 1 batch whose writer died
// before linking is the pilot's to claim: its ids are not ours to hand over
// again). inbox/ before accepted/ (the order a pilot moves them).
void index_handed_over(const fsys::path& dir, std::unordered_map<std::string, bool>& ids) {
  auto each = [&](const fsys::path& folder, const auto& fn) {
    std::error_code ec;
    for (fsys::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.front() != '.') fn(it->path(), name);
    }
    if (ec) throw Error("pilot.dir.io", states_error::Runtime, "cannot list " + folder.string() + ": " + ec.message(),
                        {{"dir", folder.string()}});
  };
  each(dir / detail::kLedger, [&](const fsys::path&, const std::string& name) { ids.try_emplace(name, true); });
  for (const char* sub : {detail::kInbox, detail::kAccepted})
    each(dir / sub, [&](const fsys::path& p, const std::string&) {
      if (p.extension() == ".json") ids.try_emplace(p.stem().string(), true);
      if (p.extension() != detail::kBatchExt) return;
      try {
        for (auto& id : detail::batch_ids(p)) ids.try_emplace(std::move(id), true);
      } catch (const Error&) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) == 0) throw;  // unreadable: its ids unknown, none may be handed over again
      }
    });
}

}  // namespace

BatchLedger::BatchLedger(fsys::path dir) : m_dir(std::move(dir)) {
  prepare_pilot_dir(m_dir);
  // The lock replaces link(2)'s arbitration, so it must be one lock for
  // every node that may run a watcher here (fs.lock_unsupported where the
  // mount keeps flock(2) locks per client, as the coordinator requires too).
  fs::require_cluster_wide_locks(m_dir);
  const fsys::path lock = m_dir / "watcher.lock";
  m_lock = fs::FileLock::try_acquire(lock);
  if (!m_lock)
    throw Error("pilot.ledger.locked", states_error::Runtime,
                "another trigger watcher hands over to this pilot directory (it holds " + lock.string() +
                    "): one at a time (a pilot runs one itself unless started with --no-triggers)",
                {{"file", lock.string()}});
  m_inbox = detail::open_dir(m_dir / detail::kInbox);
  m_anonymous = detail::anonymous_files(m_inbox.get());
  // After the lock: whatever a watcher before us linked is listed. Then
  // handled.ids: the pilot writes it before it archives a batch, so one
  // archived while accepted/ was listed is in the one mapped after.
  index_handed_over(m_dir, m_ids);
  m_handled = HandledIds(m_dir);
  // Room for a long burst without rehashing the whole history (a rehash
  // was a measured share of a file's hand-off).
  m_ids.reserve(m_ids.size() + (std::size_t{1} << 16));
}

bool BatchLedger::handed_over(const std::string& submission_id) const {
  {
    const std::lock_guard lock(m_mutex);
    const auto it = m_ids.find(submission_id);
    if (it != m_ids.end()) return it->second;
  }
  return m_handled.contains(submission_id);
}

std::size_t BatchLedger::size() const {
  const std::lock_guard lock(m_mutex);
  return m_ids.size() - m_in_flight + m_handled.size();
}

std::vector<Intake::Outcome> BatchLedger::submit(const std::vector<Intake::Item>& batch) {
  std::vector<Intake::Outcome> out(batch.size());
  const Plan plan = plan_batch(batch, out, true);
  std::vector<std::size_t> ours;
  std::vector<bool*> claimed;  // their entries in m_ids (a node's value stays where it is)
  // Archived by the pilot (handled.ids, fixed since construction): asked
  // before the lock is taken.
  std::vector<bool> archived(batch.size(), false);
  if (m_handled.size() != 0)
    for (const std::size_t i : plan.fresh) archived[i] = m_handled.contains(out[i].submission_id);
  {
    // All or none of this batch's ids claimed at once (no thread waits
    // while it holds a claim: no deadlock between two batches).
    std::unique_lock lock(m_mutex);
    m_settled.wait(lock, [&] {
      return std::none_of(plan.fresh.begin(), plan.fresh.end(), [&](std::size_t i) {
        const auto it = m_ids.find(out[i].submission_id);
        return it != m_ids.end() && !it->second;
      });
    });
    ours.reserve(plan.fresh.size());
    claimed.reserve(plan.fresh.size());
    for (const std::size_t i : plan.fresh) {
      if (archived[i]) {
        out[i].existed = true;
        continue;
      }
      const auto [it, fresh] = m_ids.try_emplace(out[i].submission_id, false);
      if (!fresh) {  // handed over (none of ours is in flight elsewhere now)
        out[i].existed = true;
        continue;
      }
      ours.push_back(i);
      claimed.push_back(&it->second);
    }
    m_in_flight += ours.size();
  }
  auto settle = [&](bool handed) {
    {
      const std::lock_guard lock(m_mutex);
      m_in_flight -= ours.size();
      if (handed) {
        for (bool* state : claimed) *state = true;
      } else {
        for (const std::size_t i : ours) m_ids.erase(out[i].submission_id);
      }
    }
    m_settled.notify_all();
  };
  if (!ours.empty()) {
    try {
      write_batch(m_inbox.get(), m_dir / detail::kInbox, m_anonymous, 2, batch, ours, out);
    } catch (...) {
      settle(false);
      throw;
    }
    settle(true);
  }
  answer_repeats(plan, out);
  return out;
}

// --- The pilot's reader ---

namespace {

// How the reader names a file of inbox/ in Pending: "inbox/NAME".
std::string inbox_label(const std::string& file) { return std::string(detail::kInbox) + "/" + file; }

}  // namespace

InboxReader::InboxReader(fsys::path dir) : m_dir(std::move(dir)) {
  prepare_pilot_dir(m_dir);
  m_inbox = detail::open_dir(m_dir / detail::kInbox);
  m_accepted = detail::open_dir(m_dir / detail::kAccepted);
  m_ledger = detail::open_dir(m_dir / detail::kLedger);
  m_archiver = std::thread([this] { archiver(); });
}

InboxReader::~InboxReader() {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_archive_wake.notify_all();
  m_archiver.join();
}

Pending InboxReader::recover(const std::function<bool(const std::string&)>& has_run) {
  std::vector<std::string> complete;
  Pending out = accepted_without_run(m_dir, has_run, &complete);
  if (!complete.empty()) {
    {
      const std::lock_guard lock(m_mutex);
      for (auto& name : complete) m_to_archive.push_back(std::move(name));
      m_archive_soon = true;
    }
    m_archive_wake.notify_all();
  }
  return out;
}

void InboxReader::archive_now() {
  const std::lock_guard pass(m_archive_pass);
  std::vector<std::string> names;
  {
    const std::lock_guard lock(m_mutex);
    names.swap(m_to_archive);
  }
  std::vector<std::string> left;
  try {
    left = archive(m_dir, names);
  } catch (...) {  // tried again at the next pass
    const std::lock_guard lock(m_mutex);
    m_to_archive.insert(m_to_archive.end(), names.begin(), names.end());
    throw;
  }
  // Unreadable now (archive() names them): tried at the next pilot's start.
  if (!left.empty()) {
    const std::lock_guard lock(m_mutex);
    for (auto& why : left) m_archive_said.push_back(std::move(why));
  }
}

// A pass when kArchiveEveryMs went by with something to archive, or at once
// for what recover() found: off the coordinator's loop (a pass syncs the
// file system and rewrites handled.ids).
void InboxReader::archiver() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_archive_wake.wait_for(lock, std::chrono::milliseconds(kArchiveEveryMs), [&] { return m_stop || m_archive_soon; });
    if (m_stop) return;
    m_archive_soon = false;
    if (m_to_archive.empty()) continue;
    lock.unlock();
    try {
      archive_now();
    } catch (const Error& e) {
      lock.lock();
      m_archive_said.push_back(std::string(detail::kAccepted) + "/: cannot archive: " + e.message());
      continue;
    }
    lock.lock();
  }
}

Pending InboxReader::fresh() {
  Pending out;
  const fsys::path inbox = m_dir / detail::kInbox;
  std::error_code ec;
  for (fsys::directory_iterator it(inbox, ec), end; !ec && it != end; it.increment(ec)) {
    const fsys::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.front() == '.') continue;  // a submitter's temporary
    const std::string stem = p.stem().string();
    if (p.extension() == detail::kBatchExt) {
      bool read = false;
      {
        const std::lock_guard lock(m_mutex);
        read = !m_batches.insert(stem).second;
      }
      if (!read) read_batch_file(stem, out);
      continue;
    }
    if (p.extension() != ".json") continue;
    {
      const std::lock_guard lock(m_mutex);
      if (!m_files.insert(stem).second) continue;
    }
    try {
      Submission s = detail::read_submission(p);
      if (s.submission_id != stem) throw detail::invalid(p.string(), "file name and submission_id differ");
      out.ready.push_back(std::move(s));
    } catch (const Error& e) {
      not_read(name, e, m_files, stem, out);
    }
  }
  // The moment's (EMFILE, EIO): reported, looked at again at the next look;
  // what was read is handed on, not thrown away with the error.
  if (ec) out.later.push_back(inbox_label("") + ": cannot list it: " + ec.message());
  {
    const std::lock_guard lock(m_mutex);
    for (auto& why : m_archive_said) out.unmoved.push_back(std::move(why));
    m_archive_said.clear();
  }
  std::sort(out.ready.begin(), out.ready.end(), [](const Submission& a, const Submission& b) {
    return std::tie(a.submitted_at_ms, a.submission_id) < std::tie(b.submitted_at_ms, b.submission_id);
  });
  return out;
}

void InboxReader::not_read(const std::string& file, const Error& e, std::unordered_set<std::string>& seen,
                           const std::string& key, Pending& out) {
  if (is_final(e)) {
    out.bad.push_back(inbox_label(file) + ": " + e.message());
    return;
  }
  out.later.push_back(inbox_label(file) + ": " + e.message());
  const std::lock_guard lock(m_mutex);
  seen.erase(key);
}

void InboxReader::read_batch_file(const std::string& name, Pending& out) {
  const fsys::path file = m_dir / detail::kInbox / (name + detail::kBatchExt);
  const std::string file_name = name + detail::kBatchExt;
  detail::BatchFile b;
  try {
    b = detail::read_batch(file);
  } catch (const Error& e) {
    not_read(file_name, e, m_batches, name, out);
    return;
  }
  for (auto& why : b.bad) out.bad.push_back(std::move(why));
  Batch batch{std::make_shared<const std::vector<Json>>(std::move(b.definitions)), 0};
  std::vector<std::pair<std::string, Entry>> owned;
  std::vector<Submission> ready;
  try {
    bool linked = false, unlinked = false;
    for (auto& e : b.entries) {
      const std::string& id = e.submission.submission_id;
      detail::FileId owner = detail::batch_owner(m_ledger.get(), id);
      if (!owner && detail::owns_unlinked(b.version)) {
        owner = b.id;
        unlinked = true;
      } else if (!owner) {  // its writer has not linked it yet (or died first)
        owner = detail::claim(m_inbox.get(), m_accepted.get(), m_ledger.get(), id, name + detail::kBatchExt, b.id);
        if (!owner) throw io_error("cannot link the submission in the ledger", m_dir / detail::kLedger / id);
        linked = linked || owner == b.id;
      }
      if (owner != b.id) continue;  // a duplicate: another batch runs it
      if (!run::RunDirectory::exists(m_dir / "runs", e.submission.run_id)) {
        owned.push_back({id, Entry{name, e.offset, e.length}});
        ++batch.outstanding;
      }
      ready.push_back(std::move(e.submission));
    }
    // Our links durable before any of their runs starts: a watcher's rescan
    // must never hand one of them over again.
    if (linked && ::fsync(m_ledger.get()) != 0) throw io_error("cannot sync the ledger", m_dir / detail::kLedger);
    // A format 2 batch is its own ledger entry: durable under its name
    // before any of its runs starts (read before its writer synced inbox/,
    // a machine crash could otherwise undo it and the watcher hand its ids
    // over again).
    if (unlinked && ::fsync(m_inbox.get()) != 0) throw io_error("cannot sync the inbox", m_dir / detail::kInbox);
  } catch (const Error& e) {
    // The moment's (a full disk: pilot.dir.io, never final): nothing of it
    // runs yet, read again at the next look (the links made stay this
    // batch's).
    not_read(file_name, e, m_batches, name, out);
    return;
  }
  for (auto& s : ready) out.ready.push_back(std::move(s));
  const std::lock_guard lock(m_mutex);
  if (batch.outstanding == 0) {  // nothing of it left to run
    try {
      move_batch(name);
    } catch (const Error& e) {  // nothing refused: it stays in inbox/, moved by the next pilot
      out.unmoved.push_back(inbox_label(file_name) + ": " + e.message());
    }
    return;
  }
  for (auto& [id, entry] : owned) m_entries.emplace(std::move(id), std::move(entry));
  m_open.emplace(name, std::move(batch));
}

std::optional<Submission> InboxReader::find(const std::string& submission_id) const {
  Entry entry;
  std::shared_ptr<const std::vector<Json>> definitions;
  {
    const std::lock_guard lock(m_mutex);
    const auto it = m_entries.find(submission_id);
    if (it == m_entries.end()) return find_submission(m_dir, submission_id);
    entry = it->second;
    definitions = m_open.at(entry.batch).definitions;
  }
  // Outstanding: the batch is still in inbox/.
  return detail::read_batch_entry(m_dir / detail::kInbox / (entry.batch + detail::kBatchExt), entry.offset,
                                  entry.length, *definitions);
}

void InboxReader::accepted(const std::string& submission_id) {
  {
    const std::lock_guard lock(m_mutex);
    const auto it = m_entries.find(submission_id);
    if (it != m_entries.end()) {
      const std::string batch = it->second.batch;
      m_entries.erase(it);
      if (--m_open.at(batch).outstanding == 0) {
        m_open.erase(batch);
        move_batch(batch);
      }
      return;
    }
    if (!m_files.count(submission_id)) return;  // a batch entry whose run existed when read
  }
  mark_accepted(m_dir, submission_id);
  const std::lock_guard lock(m_mutex);
  m_to_archive.push_back(submission_id + ".json");
}

void InboxReader::move_batch(const std::string& name) {
  const std::string file = name + detail::kBatchExt;
  if (::renameat(m_inbox.get(), file.c_str(), m_accepted.get(), file.c_str()) != 0 && errno != ENOENT)
    throw io_error("cannot move the batch to accepted/", m_dir / detail::kInbox / file);
  if (::fsync(m_accepted.get()) != 0 || ::fsync(m_inbox.get()) != 0)
    throw io_error("cannot sync the pilot directory", m_dir / detail::kAccepted);
  m_to_archive.push_back(file);  // the caller holds m_mutex
}

}  // namespace beamflow::pilot
