#include "jobs/catalog/notify.hpp"

#include <algorithm>

#include "actions/durable.hpp"
#include "core/time.hpp"
#include "jobs/catalog/datasets.hpp"
#include "jobs/catalog/errors.hpp"
#include "platform/fs.hpp"

namespace beamflow::catalog {
namespace stdfs = std::filesystem;
namespace {

constexpr const char* kAdmin = "admin";

std::string record_name(const Entry& e) { return storage_name(e.identifier) + "-v" + std::to_string(e.version) + ".json"; }

// The shell-quoted word (single quotes; a quote inside becomes '\'').
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

template <class F>
auto guarded(const stdfs::path& file, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    fail("dataset.notify", "cannot record a curator notification: " + e.message(), {{"file", file.string()}}, true);
  } catch (const stdfs::filesystem_error& e) {
    fail("dataset.notify", std::string("cannot record a curator notification: ") + e.code().message(),
         {{"file", e.path1().empty() ? file.string() : e.path1().string()}}, true);
  }
}

}  // namespace

std::string CuratorInbox::folder(const std::string& principal) {
  std::string s = principal;
  std::replace(s.begin(), s.end(), ':', '-');
  return storage_name(s);
}

void CuratorInbox::pending(const Entry& e, const Collection& c) {
  if (e.status != EntryStatus::Pending) return;
  std::vector<std::string> to = c.curators;
  if (to.empty()) to.push_back(kAdmin);  // only an administrator may decide
  const std::string id = quoted(e.identifier), version = std::to_string(e.version);
  Json title = e.content.contains("dc") && e.content["dc"].contains("titles") && !e.content["dc"]["titles"].empty()
                   ? e.content["dc"]["titles"][0].value("title", "")
                   : "";
  const Json record = {{"kind", "dataset.pending"},
                       {"identifier", e.identifier},
                       {"version", e.version},
                       {"collection", e.collection},
                       {"title", title},
                       {"owner", e.owner},
                       {"requested_at", format_time_ms(e.published_ms)},
                       {"status", "pending"},
                       {"approve", "beamflow dataset approve " + id + " --version " + version},
                       {"reject", "beamflow dataset reject " + id + " --version " + version + " --reason TEXT"}};
  guarded(m_dir, [&] {
    if (stdfs::create_directories(m_dir)) fs::sync_directory(stdfs::absolute(m_dir).parent_path());
    const auto lock = actions::durable::lock_wait(m_dir / ".lock");
    for (const auto& principal : to) {
      const stdfs::path box = m_dir / folder(principal);
      const stdfs::path file = box / record_name(e);
      std::error_code ec;
      if (stdfs::exists(file, ec)) continue;  // sent before (or decided since)
      const bool made = stdfs::create_directories(box);
      actions::durable::write_json(file, record);
      if (made) fs::sync_directory(m_dir);
    }
  });
}

void CuratorInbox::decided(const Entry& e) {
  guarded(m_dir, [&] {
    std::error_code ec;
    if (!stdfs::is_directory(m_dir, ec)) return;
    const auto lock = actions::durable::lock_wait(m_dir / ".lock");
    for (stdfs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
      const stdfs::path file = it->path() / record_name(e);
      auto record = actions::durable::read_json(file);
      if (!record) continue;
      (*record)["status"] = to_string(e.status);
      (*record)["decided_by"] = e.decided_by;
      (*record)["reason"] = e.reason;
      actions::durable::write_json(file, *record);
    }
  });
}

std::vector<Json> CuratorInbox::records(const Identity& who) const {
  std::vector<std::string> principals = who.principals();
  if (who.admin) principals.push_back(kAdmin);
  std::vector<Json> out;
  guarded(m_dir, [&] {
    for (const auto& p : principals) {
      if (p == "public") continue;
      std::error_code ec;
      for (stdfs::directory_iterator it(m_dir / folder(p), ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json")
          if (auto r = actions::durable::read_json(it->path())) out.push_back(std::move(*r));
    }
  });
  std::stable_sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    return a.value("requested_at", "") < b.value("requested_at", "");
  });
  return out;
}

}  // namespace beamflow::catalog
