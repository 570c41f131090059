#include "pilot/crashes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "core/json_parse.hpp"
#include "platform/fs.hpp"
#include "platform/private_dir.hpp"

namespace beamflow::pilot {
namespace {

namespace stdfs = std::filesystem;

// A mark is one page: a 32-bit length, then "key\trun\taction\thost\trank".
// The length is set to 0 before the text changes and to its size after, so
// a mark torn by a crash reads as none.
constexpr std::size_t kPage = 4096;
constexpr std::size_t kText = kPage - sizeof(std::uint32_t);

stdfs::path marks_dir(const stdfs::path& pilot_dir) { return pilot_dir / "pilot" / "executing"; }
stdfs::path mark_file(const stdfs::path& pilot_dir, int rank) {
  return marks_dir(pilot_dir) / ("rank-" + std::to_string(rank));
}

std::atomic_ref<std::uint32_t> length_of(char* page) {
  return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(page));
}

std::optional<Executing> parse_mark(const char* page, std::size_t size) {
  if (size < sizeof(std::uint32_t)) return std::nullopt;
  std::uint32_t n = 0;
  std::memcpy(&n, page, sizeof n);
  if (n == 0 || n > kText || size < sizeof n + n) return std::nullopt;
  std::vector<std::string> fields;
  std::string_view text(page + sizeof n, n);
  for (std::size_t start = 0;;) {
    const auto tab = text.find('\t', start);
    fields.emplace_back(text.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (fields.size() != 5 || fields[0].empty()) return std::nullopt;
  Executing e{fields[0], fields[1], fields[2], fields[3], 0};
  try {
    e.rank = std::stoi(fields[4]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return e;
}

std::optional<Executing> read_mark_file(const stdfs::path& file, bool clear) {
  const int fd = ::open(file.c_str(), (clear ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  char page[kPage];
  const ssize_t got = ::pread(fd, page, sizeof page, 0);
  auto mark = got > 0 ? parse_mark(page, static_cast<std::size_t>(got)) : std::nullopt;
  if (clear && mark) {
    const std::uint32_t zero = 0;
    if (::pwrite(fd, &zero, sizeof zero, 0) != static_cast<ssize_t>(sizeof zero)) {
      // Left as it is: the next start counts it again, once more at most.
    }
  }
  ::close(fd);
  return mark;
}

}  // namespace

ExecutingMark::ExecutingMark(stdfs::path pilot_dir, int rank, std::string host)
    : m_dir(std::move(pilot_dir)), m_rank(rank), m_host(std::move(host)) {}

ExecutingMark::~ExecutingMark() {
  if (m_page) ::munmap(m_page, kPage);
}

bool ExecutingMark::map() {
  m_tried = true;
  try {
    fs::create_private_directories(marks_dir(m_dir), "pilot.dir.io");
  } catch (const std::exception&) {
    return false;
  }
  const int fd = ::open(mark_file(m_dir, m_rank).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  void* p = MAP_FAILED;
  if (::ftruncate(fd, kPage) == 0) p = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return false;
  m_page = static_cast<char*>(p);
  return true;
}

void ExecutingMark::enter(std::string_view key, std::string_view run_id, std::string_view action) {
  if (!m_page && (m_tried || !map())) return;
  const std::string rank = std::to_string(m_rank);
  const std::size_t n = key.size() + run_id.size() + action.size() + m_host.size() + rank.size() + 4;
  if (n > kText) return;  // not counted rather than misread
  auto length = length_of(m_page);
  length.store(0, std::memory_order_release);
  char* out = m_page + sizeof(std::uint32_t);
  for (std::string_view part : {key, run_id, action, std::string_view(m_host), std::string_view(rank)}) {
    if (out != m_page + sizeof(std::uint32_t)) *out++ = '\t';
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  }
  length.store(static_cast<std::uint32_t>(n), std::memory_order_release);
}

void ExecutingMark::leave() noexcept {
  if (m_page) length_of(m_page).store(0, std::memory_order_release);
}

std::vector<Executing> take_marks(const stdfs::path& pilot_dir) {
  std::vector<Executing> out;
  std::error_code ec;
  for (stdfs::directory_iterator it(marks_dir(pilot_dir), ec), end; !ec && it != end; it.increment(ec))
    if (auto m = read_mark_file(it->path(), true)) out.push_back(std::move(*m));
  return out;
}

std::optional<Executing> read_mark(const stdfs::path& pilot_dir, int rank) {
  return read_mark_file(mark_file(pilot_dir, rank), false);
}

CrashCounts::CrashCounts(stdfs::path pilot_dir, int limit) : m_dir(std::move(pilot_dir)), m_limit(limit) {
  const stdfs::path file = m_dir / "pilot" / "crashes.json";
  m_counts = Json::object();
  if (!stdfs::exists(file)) return;
  if (auto j = try_parse_json(fs::read_file(file)); j && j->is_object()) m_counts = *j;
}

int CrashCounts::count(const Executing& e) {
  Json& c = m_counts[e.key];
  if (!m_counted.insert(e.key).second) return c.value("count", 0);
  if (!c.is_object()) c = {{"count", 0}, {"run_id", e.run_id}, {"action", e.action}, {"where", Json::array()}};
  c["count"] = c.value("count", 0) + 1;
  c["where"].push_back("rank " + std::to_string(e.rank) + " on " + e.host);
  save();
  return c["count"].get<int>();
}

int CrashCounts::count_of(const std::string& key) const {
  auto it = m_counts.find(key);
  return it == m_counts.end() ? 0 : it->value("count", 0);
}

std::optional<std::string> CrashCounts::exhausted(const std::string& key) const {
  if (m_limit <= 0) return std::nullopt;
  auto it = m_counts.find(key);
  if (it == m_counts.end() || it->value("count", 0) < m_limit) return std::nullopt;
  std::string where;
  for (const auto& w : it->value("where", Json::array())) where += (where.empty() ? "" : ", ") + w.get<std::string>();
  return "the task (action " + it->value("action", std::string("?")) + ") brought its pilot rank down " +
         std::to_string(it->value("count", 0)) + " times (" + where + "; limit --max-task-crashes " +
         std::to_string(m_limit) + "), so it is not run again: fix the action or its input and submit the flow "
         "again, or catch Pilot.TaskCrashed in the flow; the crashes are in the run's log and in " +
         (m_dir / "pilot" / "crashes.json").string();
}

void CrashCounts::save() const {
  fs::create_private_directories(m_dir / "pilot", "pilot.dir.io");
  fs::write_file_atomic(m_dir / "pilot" / "crashes.json", m_counts.dump(2) + "\n");
}

}  // namespace beamflow::pilot
