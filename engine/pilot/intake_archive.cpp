#include "pilot/intake_archive.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "core/error.hpp"
#include "pilot/intake_detail.hpp"
#include "platform/digest.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::pilot {
namespace fsys = std::filesystem;

namespace {

constexpr const char* kHandledFile = "handled.ids";
constexpr char kMagic[8] = {'B', 'F', 'H', 'A', 'N', 'D', 'L', '1'};
constexpr std::size_t kHeader = 16;  // magic, then the key count (little-endian u64)

int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

Error invalid_handled(const fsys::path& file, const std::string& why) {
  return Error("pilot.handled.invalid", states_error::Runtime,
               "not a handled.ids file (" + why + "): no id it may hold can be told new", {{"file", file.string()}});
}

}  // namespace

HandledKey handled_key(std::string_view id) {
  // "xxh128:" + 32 lowercase hex digits, the canonical big-endian form.
  const std::string text = platform::digest::xxh128_of(id.data(), id.size());
  HandledKey key{};
  for (std::size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<unsigned char>(hex_digit(text[7 + 2 * i]) << 4 | hex_digit(text[8 + 2 * i]));
  return key;
}

HandledIds::HandledIds(const fsys::path& dir) {
  const fsys::path file = dir / kHandledFile;
  const fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return;
    throw detail::io_error("cannot open the handled ids", file);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw detail::io_error("cannot stat the handled ids", file);
  const auto length = static_cast<std::size_t>(st.st_size);
  if (length < kHeader) throw invalid_handled(file, "shorter than its header");
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) throw detail::io_error("cannot map the handled ids", file);
  m_map = map;
  m_length = length;
  const auto* bytes = static_cast<const unsigned char*>(map);
  std::uint64_t count = 0;
  for (int i = 7; i >= 0; --i) count = count << 8 | bytes[8 + i];
  if (std::memcmp(bytes, kMagic, sizeof kMagic) != 0 || count != (length - kHeader) / sizeof(HandledKey) ||
      (length - kHeader) % sizeof(HandledKey) != 0) {
    ::munmap(m_map, m_length);
    m_map = nullptr;
    throw invalid_handled(file, "bad header or length");
  }
  m_keys = reinterpret_cast<const HandledKey*>(bytes + kHeader);
  m_count = count;
}

HandledIds::HandledIds(HandledIds&& o) noexcept
    : m_map(std::exchange(o.m_map, nullptr)),
      m_length(std::exchange(o.m_length, 0)),
      m_keys(std::exchange(o.m_keys, nullptr)),
      m_count(std::exchange(o.m_count, 0)) {}

HandledIds& HandledIds::operator=(HandledIds&& o) noexcept {
  // o unmaps what this held.
  std::swap(m_map, o.m_map);
  std::swap(m_length, o.m_length);
  std::swap(m_keys, o.m_keys);
  std::swap(m_count, o.m_count);
  return *this;
}

HandledIds::~HandledIds() {
  if (m_map) ::munmap(m_map, m_length);
}

bool HandledIds::contains(const HandledKey& key) const { return std::binary_search(begin(), end(), key); }

bool HandledIds::contains(std::string_view id) const { return m_count != 0 && contains(handled_key(id)); }

namespace {

void step(const std::function<void(ArchiveStep)>& at, ArchiveStep s) {
  if (at) at(s);
}

// D/handled.ids replaced by `keys` (sorted, unique): a temporary beside it,
// synced, renamed over it, D synced.
void write_handled(const fsys::path& dir, const std::vector<HandledKey>& keys,
                   const std::function<void(ArchiveStep)>& at) {
  const fsys::path file = dir / kHandledFile;
  std::string data(kHeader + keys.size() * sizeof(HandledKey), '\0');
  std::memcpy(data.data(), kMagic, sizeof kMagic);
  std::uint64_t count = keys.size();
  for (int i = 0; i < 8; ++i, count >>= 8) data[8 + i] = static_cast<char>(count & 0xff);
  if (!keys.empty()) std::memcpy(data.data() + kHeader, keys.data(), keys.size() * sizeof(HandledKey));
  fs::detail::TempFile temp(file, 0, "pilot.dir.io");
  if (const int e = fs::detail::write_all(temp.fd().get(), data.data(), data.size()); e != 0) {
    errno = e;
    throw detail::io_error("cannot write the handled ids", temp.path());
  }
  if (::fsync(temp.fd().get()) != 0 || temp.fd().close() != 0)
    throw detail::io_error("cannot sync the handled ids", temp.path());
  step(at, ArchiveStep::IdsWritten);
  if (::rename(temp.path().c_str(), file.c_str()) != 0) throw detail::io_error("cannot replace the handled ids", file);
  temp.disarm();
  step(at, ArchiveStep::IdsRenamed);
  if (const int e = fs::detail::fsync_directory(dir); e != 0) {
    errno = e;
    throw detail::io_error("cannot sync the pilot directory", dir);
  }
  step(at, ArchiveStep::IdsDurable);
}

}  // namespace

std::vector<std::string> archive(const fsys::path& dir, const std::vector<std::string>& names,
                                 const std::function<void(ArchiveStep)>& at) {
  std::vector<std::string> left;
  if (names.empty()) return left;
  const fsys::path accepted = dir / detail::kAccepted;
  const fsys::path archived = accepted / detail::kArchive;
  // The runs first: nothing moves out of what a start reads before the run
  // that makes it handled would survive a machine crash (a pilot may have
  // written them without a sync: --durability none, a group commit due).
  // The moves into accepted/ are on the same file system and synced too.
  const auto runs = detail::open_dir(dir / "runs");
  if (::syncfs(runs.get()) != 0) throw detail::io_error("cannot sync the runs", dir / "runs");
  const auto from = detail::open_dir(accepted);
  struct stat runs_st {}, from_st {};
  if (::fstat(runs.get(), &runs_st) == 0 && ::fstat(from.get(), &from_st) == 0 && runs_st.st_dev != from_st.st_dev &&
      ::syncfs(from.get()) != 0)
    throw detail::io_error("cannot sync the pilot directory", accepted);
  step(at, ArchiveStep::RunsSynced);

  std::vector<std::string> moving;
  std::vector<HandledKey> keys;
  for (const auto& name : names) {
    const fsys::path p = accepted / name;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;  // archived already
    try {
      if (p.extension() == ".json") {
        keys.push_back(handled_key(p.stem().string()));
      } else {
        for (const auto& id : detail::batch_ids(p)) keys.push_back(handled_key(id));
      }
      moving.push_back(name);
    } catch (const Error& e) {
      left.push_back(std::string(detail::kAccepted) + "/" + name + ": " + e.message());
    }
  }
  if (moving.empty()) return left;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  {
    const HandledIds old(dir);
    // A pass cut after its ids were written and before its moves: they are
    // all there, nothing to write again.
    if (!std::all_of(keys.begin(), keys.end(), [&](const HandledKey& k) { return old.contains(k); })) {
      std::vector<HandledKey> all;
      all.reserve(old.size() + keys.size());
      std::set_union(old.begin(), old.end(), keys.begin(), keys.end(), std::back_inserter(all));
      write_handled(dir, all, at);
    }
  }
  const auto to = detail::open_dir(archived);
  for (const auto& name : moving) {
    if (::renameat(from.get(), name.c_str(), to.get(), name.c_str()) != 0 && errno != ENOENT)
      throw detail::io_error("cannot move to accepted/archive/", accepted / name);
    step(at, ArchiveStep::Moved);
  }
  if (::fsync(to.get()) != 0 || ::fsync(from.get()) != 0) throw detail::io_error("cannot sync accepted/", accepted);
  step(at, ArchiveStep::Done);
  return left;
}

}  // namespace beamflow::pilot
