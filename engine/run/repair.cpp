#include "run/repair.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"
#include "core/json_parse.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"
#include "run/paths.hpp"
#include "run/record.hpp"
#include "run/run_store.hpp"

namespace beamflow::run {
namespace {

// What a dropped record was about, as far as it still decodes.
Json describe_dropped(const journal::Record& r) {
  Json j = {{"offset", r.offset}, {"type", record_name(r.type)}};
  try {
    const Event e = decode(r.type, r.payload);
    const auto copy = [&](const char* key, const char* as) {
      if (auto it = e.body.find(key); it != e.body.end() && it->is_string()) j[as] = *it;
    };
    copy("f", "frame");
    copy("s", "state");
    copy("a", "action_id");
    copy("status", "status");
  } catch (const Error&) {
    j["undecodable"] = true;
  }
  return j;
}

}  // namespace

Json RepairPlan::to_json() const {
  Json j = {{"run_id", run_id},
            {"journal", journal_file.string()},
            {"file_size", file_size},
            {"keep_bytes", keep_bytes},
            {"kept_records", kept_records},
            {"torn_tail", torn_tail},
            {"needed", needed()},
            {"repaired", repaired},
            {"dropped", dropped}};
  if (damage) {
    j["damage"] = {{"offset", damage->offset}, {"record", damage->record + 1}, {"what", damage->what}};
    if (damage->type) j["damage"]["type"] = record_name(*damage->type);
  }
  return j;
}

RepairPlan plan_repair(const std::filesystem::path& runs_root, const std::string& run_id) {
  const auto dir = run_dir(runs_root, run_id);
  if (!RunDirectory::exists(runs_root, run_id))
    throw Error("run.not_found", states_error::Runtime, "no such run", {{"run_id", run_id}, {"runs_dir", runs_root.string()}});
  RepairPlan plan;
  plan.run_id = run_id;
  plan.journal_file = dir / "journal";
  const auto report = read_journal_report(plan.journal_file);
  if (!report) return plan;
  plan.journal_exists = true;
  plan.file_size = report->file_size;
  plan.kept_records = report->records.size();
  if (report->damage) {
    plan.damage = report->damage;
    plan.keep_bytes = report->damage->good_end;
    for (const auto& r : report->after_damage) plan.dropped.push_back(describe_dropped(r));
  } else {
    plan.keep_bytes = report->valid_end;
    plan.torn_tail = report->torn_tail;
  }
  return plan;
}

RepairPlan repair_run(const std::filesystem::path& runs_root, const std::string& run_id) {
  RunDirectory dir = RunDirectory::open(runs_root, run_id);  // the lock: no driver appends meanwhile
  RepairPlan plan = plan_repair(runs_root, run_id);
  if (!plan.needed()) return plan;
  const auto& file = plan.journal_file;
  fs::detail::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) fs::detail::throw_system_error("run.repair", "cannot open the journal to cut it back", file, errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(plan.keep_bytes)) != 0)
    fs::detail::throw_system_error("run.repair", "cannot cut the journal back", file, errno);
  if (::fsync(fd.get()) != 0) fs::detail::throw_system_error("run.repair", "cannot fsync the journal", file, errno);
  if (const int err = fd.close()) fs::detail::throw_system_error("run.repair", "cannot close the journal", file, err);
  plan.repaired = true;
  // The summary must not keep claiming an end the journal no longer holds.
  Json status = Json::object();
  try {
    status = parse_json(fs::read_file(dir.path() / "status.json"), "status.json");
  } catch (const std::exception&) {
  }
  if (!status.is_object()) status = Json::object();
  status["run_id"] = run_id;
  status["status"] = "INTERRUPTED";
  status.erase("ended");
  status.erase("error");
  dir.write_status(status);
  return plan;
}

}  // namespace beamflow::run
