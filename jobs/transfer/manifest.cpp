#include "jobs/transfer/manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/json_parse.hpp"
#include "platform/digest.hpp"
#include "jobs/transfer/endpoints.hpp"
#include "jobs/transfer/errors.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"

namespace beamflow::transfer {

using platform::digest::xxh64_of;

namespace {

Error io_error(const std::string& what, const std::filesystem::path& file, int err) {
  return Error("transfer.manifest.io", asl::Manifest, what + ": " + std::strerror(err), {{"file", file.string()}},
               true);
}

std::string id_key(const std::string& dst, const SourceIdentity& id) {
  return dst + '\n' + std::to_string(id.size) + ':' + std::to_string(id.mtime_ns) + ':' + std::to_string(id.inode);
}
std::string chunk_key(const std::string& dst, const SourceIdentity& id, std::uint64_t cs, std::uint64_t i) {
  return id_key(dst, id) + ':' + std::to_string(cs) + ':' + std::to_string(i);
}
Json id_json(const SourceIdentity& id) { return Json::array({id.size, id.mtime_ns, id.inode}); }
SourceIdentity id_from(const Json& j) {
  return {j.at(0).get<std::uint64_t>(), j.at(1).get<std::int64_t>(), j.at(2).get<std::uint64_t>()};
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

std::string journal_line(const Json& record) {
  const std::string body = record.dump();
  char check[17];
  std::snprintf(check, sizeof check, "%016llx", xxh64_of(body));
  return std::string(check) + ' ' + body + '\n';
}

std::vector<Json> parse_journal(const std::string& text, std::size_t* complete_length) {
  std::vector<Json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // torn tail
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.size() < 18 || line[16] != ' ') continue;
    const std::string_view body = line.substr(17);
    char check[17];
    std::snprintf(check, sizeof check, "%016llx", xxh64_of(body));
    if (line.substr(0, 16) != std::string_view(check, 16)) continue;
    // A line whose checksum matches but that is not JSON (or nests deeper
    // than the limit) only loses resume progress: skipped like a damaged line.
    if (auto record = try_parse_json(body)) out.push_back(std::move(*record));
  }
  if (complete_length) *complete_length = start;
  return out;
}

Attempt Manifest::prepare(const std::filesystem::path& dir, const TransferRequest& request,
                          const Endpoint& source, const Endpoint& destination) {
  // beamflow's own state: owner-only (0700 folders, 0600 files) whatever the
  // umask, like everything under $BEAMFLOW_HOME (issue 9 §5).
  try {
    fs::create_private_directories(dir, "transfer.manifest.io");
  } catch (const Error& e) {
    throw Error("transfer.manifest.io", asl::Manifest, "cannot create the transfer's state folder: " + e.message(),
                {{"file", dir.string()}}, true);
  }
  std::error_code ec;
  const auto file = dir / "request.json";
  const Json mine{{"fingerprint", request.fingerprint()},
                  {"request", request.to_json()},
                  {"source_root", source.root.string()},
                  {"destination_root", destination.root.string()}};
  Attempt attempt;
  if (std::filesystem::exists(file, ec)) {
    const Json recorded = parse_json_as(slurp(file), file.string(), "transfer.manifest.corrupt", asl::Manifest,
                                        "request.json of the transfer", {{"file", file.string()}});
    if (recorded.value("fingerprint", std::string()) != mine["fingerprint"] ||
        recorded.value("source_root", std::string()) != mine["source_root"] ||
        recorded.value("destination_root", std::string()) != mine["destination_root"])
      throw Error("transfer.manifest.other_request", asl::Request,
                  "this submission id (or state folder) already belongs to a different transfer request",
                  {{"submission_id", request.effective_id()}, {"state_dir", dir.string()}});
    attempt.retry = true;
    // A result.json that is not JSON is as good as none: the transfer runs again and rewrites it.
    if (std::filesystem::exists(dir / "result.json", ec)) attempt.result = try_parse_json(slurp(dir / "result.json"));
    return attempt;
  }
  fs::write_file_atomic(file, mine.dump(2) + "\n");
  return attempt;
}

void Manifest::save_result(const std::filesystem::path& dir, const Json& summary) {
  fs::write_file_atomic(dir / "result.json", summary.dump(2) + "\n");
}

void Manifest::absorb(const std::vector<Json>& records) {
  for (const Json& r : records) {
    try {
      const std::string t = r.at("t").get<std::string>();
      const SourceIdentity id = id_from(r.at("id"));
      const std::string f = r.at("f").get<std::string>();
      if (t == "c") {
        const auto cs = r.at("cs").get<std::uint64_t>();
        if (m_chunks.emplace(chunk_key(f, id, cs, r.at("i").get<std::uint64_t>()), r.at("d").get<std::string>()).second)
          ++m_chunked[id_key(f, id) + ':' + std::to_string(cs)];
      } else if (t == "f") {
        m_files[id_key(f, id)] = r.at("ck").get<std::string>();
      }
    } catch (const Json::exception&) {
    }
  }
}

Manifest::Manifest(const std::filesystem::path& dir, int rank)
    : m_path(dir / ("journal-r" + std::to_string(rank) + ".log")) {
  const std::string own = m_path.filename().string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("journal-r", 0) != 0 || name == own) continue;
    absorb(parse_journal(slurp(entry.path())));
  }
  const int fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw io_error("cannot open the transfer journal", m_path, errno);
  m_journal = Fd(fd);
  const std::string text = slurp(m_path);
  std::size_t complete = 0;
  absorb(parse_journal(text, &complete));
  if (complete != text.size() && ::ftruncate(fd, static_cast<off_t>(complete)) != 0)
    throw io_error("cannot cut the torn tail of the transfer journal", m_path, errno);
  if (::lseek(fd, 0, SEEK_END) < 0) throw io_error("cannot seek the transfer journal", m_path, errno);
}

std::optional<std::string> Manifest::chunk(const std::string& dst, const SourceIdentity& id, std::uint64_t cs,
                                           std::uint64_t i) const {
  const std::lock_guard lock(m_mutex);
  const auto it = m_chunks.find(chunk_key(dst, id, cs, i));
  if (it == m_chunks.end()) return std::nullopt;
  return it->second;
}

bool Manifest::has_chunks(const std::string& dst, const SourceIdentity& id, std::uint64_t cs) const {
  const std::lock_guard lock(m_mutex);
  return m_chunked.count(id_key(dst, id) + ':' + std::to_string(cs)) > 0;
}

std::optional<std::string> Manifest::file(const std::string& dst, const SourceIdentity& id) const {
  const std::lock_guard lock(m_mutex);
  const auto it = m_files.find(id_key(dst, id));
  if (it == m_files.end()) return std::nullopt;
  return it->second;
}

void Manifest::append(const std::string& lines) {
  const char* p = lines.data();
  std::size_t left = lines.size();
  while (left > 0) {
    const ssize_t n = ::write(m_journal.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw io_error("cannot append to the transfer journal", m_path, errno);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fdatasync(m_journal.get()) != 0) throw io_error("cannot sync the transfer journal", m_path, errno);
}

void Manifest::add_chunks(const std::string& dst, const SourceIdentity& id, std::uint64_t cs,
                          const std::vector<std::pair<std::uint64_t, std::string>>& chunks) {
  std::string lines;
  for (const auto& [i, digest] : chunks)
    lines += journal_line(Json{{"t", "c"}, {"f", dst}, {"id", id_json(id)}, {"cs", cs}, {"i", i}, {"d", digest}});
  const std::lock_guard lock(m_mutex);
  append(lines);
  for (const auto& [i, digest] : chunks) m_chunks[chunk_key(dst, id, cs, i)] = digest;
}

void Manifest::add_files(const std::vector<std::pair<std::string, std::pair<SourceIdentity, std::string>>>& files) {
  if (files.empty()) return;
  std::string lines;
  for (const auto& [dst, rest] : files)
    lines += journal_line(Json{{"t", "f"}, {"f", dst}, {"id", id_json(rest.first)}, {"ck", rest.second}});
  const std::lock_guard lock(m_mutex);
  append(lines);
  for (const auto& [dst, rest] : files) m_files[id_key(dst, rest.first)] = rest.second;
}

}  // namespace beamflow::transfer
