#include "run/run_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"
#include "journal/format.hpp"
#include "platform/posix_file.hpp"
#include "platform/private_dir.hpp"
#include "run/paths.hpp"
#include "run/record_check.hpp"

namespace beamflow::run {
namespace {

Json read_json(const std::filesystem::path& file) {
  const std::string text = fs::read_file(file);
  try {
    return parse_json(text, file.string());  // depth-limited while parsing
  } catch (const Error& e) {
    throw Error("run.corrupt", states_error::Runtime, "file is not valid JSON: " + e.message(),
                {{"file", file.string()}});
  }
}

// What the head of a run's journal says: its RunStarted, when the first
// commit is whole, and whether the file holds damage instead (bytes past the
// header that are more than a torn tail).
struct JournalHead {
  std::optional<Event> started;
  std::optional<Event> ended;  // the last record, when it is a RunEnded
  bool whole = true;           // the head held the whole file
  bool damaged = false;
  // Layout 2 (record.hpp): the definition and the input are in `started`.
  bool layout2() const { return started && started->body.contains("layout"); }
};

// Reads the first kSummaryHeadBytes of the journal, and the whole file only
// when its first commit is longer (a large definition or input) or looks
// damaged, or when `to_end` asks for a RunEnded the head did not reach: a
// directory's run-or-not question is asked for every run a pilot takes in.
JournalHead read_head(const std::filesystem::path& journal_file, bool to_end = false) {
  JournalHead out;
  // A journal that is there but cannot be read as a regular file (a FIFO, a
  // dangling link, no permission) is damage: a creation cut short leaves no
  // journal or a regular one.
  fs::detail::UniqueFd fd(::open(journal_file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd) {
    out.damaged = errno != ENOENT || ::lstat(journal_file.c_str(), &st) == 0;
    return out;
  }
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    out.damaged = true;
    return out;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  std::vector<std::uint8_t> head(std::min<std::size_t>(size, kSummaryHeadBytes));
  const ssize_t n = head.empty() ? 0 : ::pread(fd.get(), head.data(), head.size(), 0);
  if (n < 0) return out;
  head.resize(static_cast<std::size_t>(n));
  out.whole = head.size() >= size;
  try {
    auto report = journal::parse_journal(head.data(), head.size(), journal_file);
    if ((report.records.empty() || to_end) && !out.whole) {
      report = journal::read_journal(journal_file);
      out.whole = true;
    }
    if (report.records.empty()) {
      out.damaged = report.damage.has_value();
      return out;
    }
    const auto& first = report.records.front();
    if (first.type == static_cast<std::uint16_t>(RecordType::RunStarted)) out.started = decode(first.type, first.payload);
    // Whole commits only (parse_journal stops at a torn or damaged one): a
    // RunEnded read here was committed.
    const auto& last = report.records.back();
    if (out.whole && !report.damage && report.records.size() > 1 && last.type == static_cast<std::uint16_t>(RecordType::RunEnded))
      out.ended = decode(last.type, last.payload);
  } catch (const Error& e) {
    // A header that is not a journal's on a file longer than one: damage
    // (a creation cut short leaves at most a short header).
    if (e.id() == "journal.header") out.damaged = size > journal::format::header_size;
  }
  return out;
}

// {"flow", "started"[, "submission_id"]} of a run from its journal's
// RunStarted; {} when there is none (not started yet).
Json started_of(const JournalHead& head) {
  Json out = Json::object();
  if (!head.started) return out;
  const Json& b = head.started->body;
  out["flow"] = b.value("flow", std::string());
  if (b.contains("t") && b["t"].is_number_integer()) out["started"] = format_time_ms(b["t"].get<std::int64_t>());
  if (b.contains("submission")) out["submission_id"] = b["submission"];
  return out;
}

// What a journal's RunEnded says, in status.json's fields: status, ended,
// and error {"error","cause"} when FAILED (engine.cpp's status_json).
void ended_of(const Event& ended, Json& st) {
  const Json& b = ended.body;
  st["status"] = b.value("status", std::string("FAILED"));
  if (b.contains("t") && b["t"].is_number_integer()) st["ended"] = format_time_ms(b["t"].get<std::int64_t>());
  if (b.contains("e")) st["error"] = {{"error", b["e"]}, {"cause", b.value("c", std::string())}};
}

// Layout 1 keeps definition.json, renamed in last at creation: its presence
// marks a whole run directory of that layout.
bool has_definition_file(const std::filesystem::path& dir, std::error_code& ec) {
  return std::filesystem::exists(dir / "definition.json", ec);
}

// Whether a directory without definition.json is a run (layout 2): its
// journal's first commit is whole, or the journal is damaged (never taken
// over: `beamflow repair` shows what it holds). A first commit that is not
// a layout-2 RunStarted is a layout-1 creation cut short before its
// definition.json was renamed in: not a run, taken over as before.
bool is_run(const JournalHead& head) { return head.layout2() || head.damaged; }

// The RunStarted of a layout-2 run, or the journal's own error (read_history's:
// journal.corrupt, journal.header, journal.open), or run.corrupt.
Event layout2_start(const std::filesystem::path& dir) {
  JournalHead head = read_head(dir / "journal");
  if (!head.layout2()) {
    (void)read_history(dir / "journal");
    throw Error("run.corrupt", states_error::Runtime,
                "the run has no definition.json and its journal does not begin with a RunStarted that holds the "
                "definition (damaged journal: see `beamflow repair`)",
                {{"dir", dir.string()}});
  }
  return std::move(*head.started);
}

}  // namespace

std::string new_run_id() {
  const std::int64_t ms = now_ms();
  std::string t = format_time_ms(ms);  // 2026-11-24T09:30:00.123Z
  std::string compact;
  for (char c : t.substr(0, 23))
    if (c != '-' && c != ':' && c != '.') compact += c;
  // 64 random bits: pilots and triggers mint thousands of ids a second, and
  // two equal ids would make the second run fail with run.exists. One
  // generator per thread, seeded once: a random_device per id was a measured
  // share of a trigger's hand-off cost.
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(gen()));
  return compact + "Z-" + suffix;  // 20261124T093000123Z-1f2e3d4c5b6a7988: time ordered
}

Json stored_definition(const std::filesystem::path& run_dir) {
  std::error_code ec;
  if (has_definition_file(run_dir, ec)) return read_json(run_dir / "definition.json");
  return layout2_start(run_dir).body["definition"];
}

Json stored_input(const std::filesystem::path& run_dir) {
  std::error_code ec;
  if (has_definition_file(run_dir, ec)) return read_json(run_dir / "input.json");
  return layout2_start(run_dir).body.value("input", Json::object());
}

NewRun RunDirectory::create(const std::filesystem::path& runs_root, const std::string& run_id,
                           journal::Durability durability, fs::SyncGroup* group) {
  const auto dir = run_dir(runs_root, run_id);
  // Owner-only: a run's files hold its input and its commands' environment.
  // The runs root is made (each missing component) only when the run's own
  // mkdir says it is missing: a pilot creates thousands of runs a second in
  // one root, and walking it again cost a mkdir and a stat per component.
  int made = ::mkdir(dir.c_str(), 0700);
  if (made != 0 && errno == ENOENT) {
    fs::create_private_directories(runs_root, "run.io");
    made = ::mkdir(dir.c_str(), 0700);
  }
  if (made == 0) {
    ::chmod(dir.c_str(), 0700);  // whatever the umask
  } else {
    if (errno != EEXIST)
      throw Error("run.io", states_error::Runtime, std::string("cannot create the run directory: ") + std::strerror(errno),
                  {{"dir", dir.string()}})
          .with_errno(errno);
    // A directory whose journal has no whole first commit is a creation cut
    // short by a crash: nothing ran yet, so it may be taken over. Anything
    // else is a real run.
    if (exists(runs_root, run_id))
      throw Error("run.exists", states_error::Runtime, "a run with this id already exists", {{"run_id", run_id}});
  }
  auto lock = fs::FileLock::try_acquire(dir / "lock");
  if (!lock) throw Error("run.locked", states_error::Runtime, "run is locked by another process", {{"run_id", run_id}});
  // A journal left by a creation cut short holds nothing that was acted on
  // (see the header): start it again. A layout-1 creation cut short may have
  // left input.json too. A directory this call made holds neither: the two
  // lookups are skipped (a pilot creates thousands of runs a second), and
  // the journal's O_EXCL creation still refuses one that got there anyway.
  if (made != 0)
    for (const char* name : {"journal", "input.json"})
      if (::unlink((dir / name).c_str()) != 0 && errno != ENOENT)
        throw Error("run.io", states_error::Runtime,
                    std::string("cannot remove a half-created run's ") + name + ": " + std::strerror(errno),
                    {{"dir", dir.string()}})
            .with_errno(errno);
  // actions/ is made by the driver at the first action that keeps state
  // (run/paths.hpp): most of a pilot's runs never need it. Nothing else is
  // written here: the definition and the input go into the journal's first
  // commit (layout 2), whose durability makes the run exist.
  journal::WriterOptions jo;
  jo.group = durability == journal::Durability::Fsync ? group : nullptr;
  jo.defer_create_sync = true;
  jo.create_sync_parent = runs_root;  // the run directory's own name
  journal::Writer journal = journal::Writer::create(dir / "journal", durability, jo);
  return NewRun{RunDirectory(dir, run_id, std::move(*lock)), std::move(journal)};
}

bool RunDirectory::exists(const std::filesystem::path& runs_root, const std::string& run_id) {
  const auto dir = run_dir(runs_root, run_id);
  // No directory, no run: one failed lookup instead of three (definition.json,
  // the journal's open and its lstat). A pilot asks this of every run it takes
  // in, twice, before the run's directory is made.
  if (struct stat st {}; ::stat(dir.c_str(), &st) != 0 && errno == ENOENT) return false;
  std::error_code ec;
  return has_definition_file(dir, ec) || is_run(read_head(dir / "journal"));
}

RunDirectory RunDirectory::open(const std::filesystem::path& runs_root, const std::string& run_id) {
  const auto dir = run_dir(runs_root, run_id);
  if (!exists(runs_root, run_id))
    throw Error("run.not_found", states_error::Runtime, "no such run", {{"run_id", run_id}, {"runs_dir", runs_root.string()}});
  auto lock = fs::FileLock::try_acquire(dir / "lock");
  if (!lock)
    throw Error("run.locked", states_error::Runtime,
                "run is being driven by another process (lock held); refusing to resume it twice", {{"run_id", run_id}});
  return RunDirectory(dir, run_id, std::move(*lock));
}

Json RunDirectory::definition() const { return stored_definition(m_path); }
Json RunDirectory::input() const { return stored_input(m_path); }

void RunDirectory::write_status(const Json& status) const {
  const std::string text = status.dump(2) + "\n";
  fs::detail::replace_file(m_path / "status.json", text.data(), text.size(), /*durable=*/false, "fs.write");
}

std::string record_name(std::uint16_t type) {
  if (type >= static_cast<std::uint16_t>(RecordType::RunStarted) && type <= static_cast<std::uint16_t>(RecordType::RunEnded))
    return to_string(static_cast<RecordType>(type));
  return "type " + std::to_string(type);
}

std::optional<journal::ReadReport> read_journal_report(const std::filesystem::path& journal_file) {
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(journal_file, ec);
  if (ec || st.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (st.type() == std::filesystem::file_type::symlink && !std::filesystem::exists(journal_file, ec)) {
    throw Error("journal.open", states_error::Runtime,
                "the journal is a symbolic link to a missing file (" +
                    std::filesystem::read_symlink(journal_file, ec).string() + ")",
                {{"file", journal_file.string()}});
  }
  return journal::read_journal(journal_file);
}

History read_history(const std::filesystem::path& journal_file) {
  History h;
  const std::string run_id = journal_file.parent_path().filename().string();
  const auto report = read_journal_report(journal_file);
  if (!report) return h;
  if (const auto& d = report->damage) {
    throw Error("journal.corrupt", states_error::Runtime,
                "run " + run_id + ": journal damaged at byte " + std::to_string(d->offset) + ", record #" +
                    std::to_string(d->record + 1) + (d->type ? " (" + record_name(*d->type) + ")" : std::string()) +
                    ": " + d->what + "; refusing to replay: skipping it would change the run's history. " +
                    "`beamflow repair " + run_id + "` shows what cutting the journal back to byte " +
                    std::to_string(d->good_end) + " would drop",
                {{"run_id", run_id},
                 {"offset", std::to_string(d->offset)},
                 {"record", std::to_string(d->record + 1)},
                 {"file", journal_file.string()}});
  }
  h.torn_tail = report->torn_tail;
  h.skipped_records = report->skipped_records;
  h.events.reserve(report->records.size());
  h.offsets.reserve(report->records.size());
  h.end = report->valid_end;
  try {
    for (const auto& r : report->records) {
      try {
        h.events.push_back(decode(r.type, r.payload));
        h.offsets.push_back(r.offset);
      } catch (Error& e) {
        e.with("offset", std::to_string(r.offset));
        throw;
      }
    }
    check_history(h.events);
  } catch (Error& e) {
    e.with("run_id", run_id);
    throw;
  }
  return h;
}

Json RunSummary::to_json() const {
  Json j = {{"run_id", run_id}, {"status", status}, {"flow", flow}, {"started", started}};
  if (!ended.empty()) j["ended"] = ended;
  if (!error.is_null()) j["error"] = error;
  return j;
}

std::optional<RunSummary> summarize_run(const std::filesystem::path& runs_root, const std::string& run_id) try {
  const auto dir = run_dir(runs_root, run_id);
  std::error_code ec;
  std::optional<JournalHead> head;  // read at most once
  if (!has_definition_file(dir, ec)) {
    if (ec)
      throw Error("run.io", states_error::Runtime, "cannot look into the run directory: " + ec.message(),
                  {{"dir", dir.string()}});
    head = read_head(dir / "journal");
    if (!is_run(*head)) return std::nullopt;
  }
  RunSummary s;
  s.run_id = run_id;
  Json st;
  std::optional<bool> held;  // whether a process holds the run's lock, once asked
  struct stat status_file {};
  if (::lstat((dir / "status.json").c_str(), &status_file) != 0 && errno == ENOENT) {
    // None (a pilot's run writes none while its journal is short,
    // RunOptions::status_at_end): its flow and start from its journal's
    // first record, its end from the last, once no process holds the lock
    // (the driver lets it go after that commit is durable, as it wrote
    // status.json only then); RUNNING while one does (checked below).
    held = fs::FileLock::is_held(dir / "lock");
    if (!head || (!*held && !head->whole)) head = read_head(dir / "journal", /*to_end=*/!*held);
    st = started_of(*head);
    if (!*held && head->ended) ended_of(*head->ended, st);
    else st["status"] = *held ? "RUNNING" : "INTERRUPTED";
  } else {
    try {
      st = read_json(dir / "status.json");
    } catch (const Error&) {
      st = Json::object();  // created but never started: the status file is written first thing
    }
  }
  if (!st.is_object()) st = Json::object();
  const auto text = [&st](const char* key, const char* otherwise) {
    auto it = st.find(key);
    return it != st.end() && it->is_string() ? it->get<std::string>() : std::string(otherwise);
  };
  s.status = text("status", "INTERRUPTED");
  s.flow = text("flow", "");
  s.started = text("started", "");
  s.ended = text("ended", "");
  s.submission_id = text("submission_id", "");
  if (st.contains("error")) s.error = st["error"];
  if (s.status == "RUNNING" && !held.value_or(fs::FileLock::is_held(dir / "lock"))) s.status = "INTERRUPTED";
  return s;
} catch (const Error& e) {
  // One unreadable run (a lock that is a directory or mode 0000, a status
  // file that is not a regular file) never hides the others.
  if (e.id() == "run.bad_id") throw;
  RunSummary bad;
  bad.run_id = run_id;
  bad.status = "UNREADABLE";
  bad.error = {{"error", e.id()}, {"cause", e.what()}};
  return bad;
}

std::vector<RunSummary> list_runs(const std::filesystem::path& runs_root) {
  std::vector<RunSummary> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(runs_root, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(runs_root, ec)) {
    if (!entry.is_directory()) continue;
    const std::string id = entry.path().filename().string();
    if (id.empty() || id[0] == '.') continue;
    if (auto s = summarize_run(runs_root, id)) out.push_back(std::move(*s));
  }
  // Run ids begin with their start time, so id order is start order.
  std::sort(out.begin(), out.end(), [](const RunSummary& a, const RunSummary& b) {
    return a.started != b.started ? a.started < b.started : a.run_id < b.run_id;
  });
  return out;
}

}  // namespace beamflow::run
