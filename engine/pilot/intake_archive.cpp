#include "pilot/intake_archive.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include "core/error.hpp"
#include "pilot/intake_detail.hpp"
#include "platform/digest.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::pilot {
namespace fsys = std::filesystem;

namespace {

constexpr const char* kHandledFile = "handled.ids";
// The base: magic, key count, the last delta it holds, 8 zero bytes (a
// version 1 base, from before deltas: magic "BFHANDL1", the count, keys
// from byte 16, holding none). A delta: magic, key count, its own number,
// 8 zero bytes. Numbers little-endian u64.
constexpr char kBaseMagicV1[8] = {'B', 'F', 'H', 'A', 'N', 'D', 'L', '1'};
constexpr char kBaseMagic[8] = {'B', 'F', 'H', 'A', 'N', 'D', 'L', '2'};
constexpr char kDeltaMagic[8] = {'B', 'F', 'H', 'D', 'E', 'L', 'T', '1'};
constexpr std::size_t kHeaderV1 = 16, kHeader = 32;

int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

Error invalid_handled(const fsys::path& file, const std::string& why) {
  return Error("pilot.handled.invalid", states_error::Runtime,
               "not a handled.ids file (" + why + "): no id it may hold can be told new", {{"file", file.string()}});
}

std::uint64_t get_u64(const unsigned char* at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | at[i];
  return v;
}

void put_u64(std::string& out, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) out[at + i] = static_cast<char>(v & 0xff);
}

fsys::path delta_file(const fsys::path& dir, std::uint64_t n) {
  return dir / (std::string(kHandledFile) + "." + std::to_string(n));
}

// Appends delta `n`'s keys to `out`; false when there is no delta `n`.
bool read_delta(const fsys::path& dir, std::uint64_t n, std::vector<HandledKey>& out) {
  const fsys::path file = delta_file(dir, n);
  const fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return false;
    throw detail::io_error("cannot open the handled ids", file);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw detail::io_error("cannot stat the handled ids", file);
  std::vector<unsigned char> data(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t r = ::read(fd.get(), data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw detail::io_error("cannot read the handled ids", file);
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got < kHeader || got != data.size() || std::memcmp(data.data(), kDeltaMagic, sizeof kDeltaMagic) != 0 ||
      get_u64(data.data() + 16) != n || (got - kHeader) % sizeof(HandledKey) != 0 ||
      get_u64(data.data() + 8) != (got - kHeader) / sizeof(HandledKey))
    throw invalid_handled(file, "bad header or length");
  const std::size_t first = out.size(), count = (got - kHeader) / sizeof(HandledKey);
  out.resize(first + count);
  if (count) std::memcpy(out[first].data(), data.data() + kHeader, count * sizeof(HandledKey));
  if (!std::is_sorted(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()))
    throw invalid_handled(file, "keys out of order");
  return true;
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
  // A fold between opening the base and reading the deltas it does not
  // hold removes some of them: read again, the new base holds them.
  for (int attempt = 0; !load(dir); ++attempt) {
    if (attempt == 100)
      throw Error("pilot.dir.io", states_error::Runtime,
                  "the handled ids changed under 100 reads in a row: only the pilot should write them",
                  {{"file", (dir / kHandledFile).string()}});
  }
}

bool HandledIds::load(const fsys::path& dir) {
  unmap();
  m_delta.clear();
  m_covered = m_last = 0;
  m_format2 = false;
  const fsys::path file = dir / kHandledFile;
  struct stat st {};
  const fs::detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT) throw detail::io_error("cannot open the handled ids", file);
  } else {
    if (::fstat(fd.get(), &st) != 0) throw detail::io_error("cannot stat the handled ids", file);
    const auto length = static_cast<std::size_t>(st.st_size);
    if (length < kHeaderV1) throw invalid_handled(file, "shorter than its header");
    void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (map == MAP_FAILED) throw detail::io_error("cannot map the handled ids", file);
    m_map = map;
    m_length = length;
    const auto* bytes = static_cast<const unsigned char*>(map);
    const bool v1 = std::memcmp(bytes, kBaseMagicV1, sizeof kBaseMagicV1) == 0;
    const std::size_t header = v1 ? kHeaderV1 : kHeader;
    const std::uint64_t count = get_u64(bytes + 8);
    if ((!v1 && std::memcmp(bytes, kBaseMagic, sizeof kBaseMagic) != 0) || length < header ||
        (length - header) % sizeof(HandledKey) != 0 || count != (length - header) / sizeof(HandledKey)) {
      unmap();
      throw invalid_handled(file, "bad header or length");
    }
    m_keys = reinterpret_cast<const HandledKey*>(bytes + header);
    m_count = count;
    m_covered = v1 ? 0 : get_u64(bytes + 16);
    m_format2 = !v1;
  }
  m_last = m_covered;
  while (read_delta(dir, m_last + 1, m_delta)) ++m_last;
  // The base still the one read (held open by the mapping, its inode is not
  // reused): no delta was removed by a fold meanwhile.
  struct stat now {};
  const bool base_now = ::stat(file.c_str(), &now) == 0;
  if (!base_now && errno != ENOENT) throw detail::io_error("cannot stat the handled ids", file);
  if (base_now != static_cast<bool>(m_map) || (base_now && (now.st_ino != st.st_ino || now.st_dev != st.st_dev)))
    return false;
  std::sort(m_delta.begin(), m_delta.end());
  m_delta.erase(std::unique(m_delta.begin(), m_delta.end()), m_delta.end());
  std::erase_if(m_delta, [&](const HandledKey& k) { return std::binary_search(base_begin(), base_end(), k); });
  return true;
}

void HandledIds::unmap() noexcept {
  if (m_map) ::munmap(m_map, m_length);
  m_map = nullptr;
  m_length = 0;
  m_keys = nullptr;
  m_count = 0;
}

HandledIds::HandledIds(HandledIds&& o) noexcept
    : m_map(std::exchange(o.m_map, nullptr)),
      m_length(std::exchange(o.m_length, 0)),
      m_keys(std::exchange(o.m_keys, nullptr)),
      m_count(std::exchange(o.m_count, 0)),
      m_delta(std::move(o.m_delta)),
      m_covered(std::exchange(o.m_covered, 0)),
      m_last(std::exchange(o.m_last, 0)),
      m_format2(std::exchange(o.m_format2, false)) {}

HandledIds& HandledIds::operator=(HandledIds&& o) noexcept {
  // o unmaps what this held.
  std::swap(m_map, o.m_map);
  std::swap(m_length, o.m_length);
  std::swap(m_keys, o.m_keys);
  std::swap(m_count, o.m_count);
  std::swap(m_delta, o.m_delta);
  std::swap(m_covered, o.m_covered);
  std::swap(m_last, o.m_last);
  std::swap(m_format2, o.m_format2);
  return *this;
}

HandledIds::~HandledIds() { unmap(); }

bool HandledIds::contains(const HandledKey& key) const {
  return std::binary_search(base_begin(), base_end(), key) || std::binary_search(m_delta.begin(), m_delta.end(), key);
}

bool HandledIds::contains(std::string_view id) const { return size() != 0 && contains(handled_key(id)); }

namespace {

void step(const std::function<void(ArchiveStep)>& at, ArchiveStep s) {
  if (at) at(s);
}

// `file` replaced by `header` (its count set) and `keys`: a temporary beside
// it, synced, renamed over it, D synced.
void write_keys(const fsys::path& dir, const fsys::path& file, std::string header, const std::vector<HandledKey>& keys,
                const std::function<void(ArchiveStep)>& at) {
  put_u64(header, 8, keys.size());
  std::string data = std::move(header);
  data.resize(kHeader + keys.size() * sizeof(HandledKey));
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

std::string header(const char (&magic)[8], std::uint64_t number) {
  std::string h(kHeader, '\0');
  std::memcpy(h.data(), magic, sizeof magic);
  put_u64(h, 16, number);
  return h;
}

// After a fold that holds deltas 1..covered: removes them, and the
// temporaries of handled.ids and its deltas a killed pass left (one pass
// at a time: none is in use). Best effort: one left is ignored by readers
// and removed by the next fold.
void remove_folded(const fsys::path& dir, std::uint64_t covered) {
  const std::string base = kHandledFile, temp = "." + base;
  std::error_code ec;
  for (fsys::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    bool folded = false;
    if (name.size() > base.size() + 1 && name.compare(0, base.size() + 1, base + ".") == 0) {
      const std::string n = name.substr(base.size() + 1);
      folded = n.find_first_not_of("0123456789") == std::string::npos && n.size() < 20 && std::stoull(n) <= covered;
    }
    if (folded || name.compare(0, temp.size(), temp) == 0) ::unlink(it->path().c_str());
  }
}

}  // namespace

std::vector<std::string> archive(const fsys::path& dir, const std::vector<std::string>& names,
                                 const std::function<void(ArchiveStep)>& at, const HandledFold& fold) {
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
  std::optional<std::uint64_t> folded;  // a new base: the deltas it holds, removed after the moves
  {
    const HandledIds old(dir);
    // The ids not handled yet (none after a pass cut after its ids were
    // written and before its moves: nothing to write again).
    std::erase_if(keys, [&](const HandledKey& k) { return old.contains(k); });
    if (!keys.empty()) {
      const std::size_t deltas = old.last_delta() - old.covered() + 1,
                        delta_keys = old.delta_keys().size() + keys.size();
      const std::size_t base_keys = static_cast<std::size_t>(old.base_end() - old.base_begin());
      if (!old.takes_deltas() || deltas >= fold.max_deltas ||
          (fold.base_keys_per_delta_key != 0 && delta_keys * fold.base_keys_per_delta_key > base_keys)) {
        // A new base: the old one, every delta read and these. The old
        // deltas stay until the moves are done (removed below).
        std::vector<HandledKey> news, all;
        news.reserve(delta_keys);
        std::merge(old.delta_keys().begin(), old.delta_keys().end(), keys.begin(), keys.end(),
                   std::back_inserter(news));
        all.reserve(base_keys + news.size());
        std::merge(old.base_begin(), old.base_end(), news.begin(), news.end(), std::back_inserter(all));
        write_keys(dir, dir / kHandledFile, header(kBaseMagic, old.last_delta()), all, at);
        folded = old.last_delta();
      } else {
        write_keys(dir, delta_file(dir, old.last_delta() + 1), header(kDeltaMagic, old.last_delta() + 1), keys, at);
      }
    }
  }
  const auto to = detail::open_dir(archived);
  for (const auto& name : moving) {
    if (::renameat(from.get(), name.c_str(), to.get(), name.c_str()) != 0 && errno != ENOENT)
      throw detail::io_error("cannot move to accepted/archive/", accepted / name);
    step(at, ArchiveStep::Moved);
  }
  if (::fsync(to.get()) != 0 || ::fsync(from.get()) != 0) throw detail::io_error("cannot sync accepted/", accepted);
  if (folded) {
    remove_folded(dir, *folded);
    step(at, ArchiveStep::Cleaned);
  }
  step(at, ArchiveStep::Done);
  return left;
}

}  // namespace beamflow::pilot
