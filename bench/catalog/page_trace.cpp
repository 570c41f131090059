#include "bench/catalog/page_trace.hpp"

#include <sqlite3.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace beamflow::bench {
namespace {

// The catalog's page size (SQLite's default; the catalog never sets it).
constexpr std::int64_t kPageSize = 4096;

std::mutex g_mutex;
bool g_recording = false;
std::set<std::uint32_t> g_pages;
sqlite3_vfs* g_real = nullptr;

void record(std::int64_t offset) {
  std::lock_guard lock(g_mutex);
  if (g_recording) g_pages.insert(static_cast<std::uint32_t>(offset / kPageSize + 1));
}

struct TraceFile {
  sqlite3_file base;
  sqlite3_file* real;  // follows this struct in the same allocation
  bool main;
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<TraceFile*>(f)->real; }
bool is_main(sqlite3_file* f) { return reinterpret_cast<TraceFile*>(f)->main; }

int x_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (is_main(f)) record(offset);
  return real(f)->pMethods->xRead(real(f), buf, amount, offset);
}
int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xWrite(real(f), buf, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) { return real(f)->pMethods->xTruncate(real(f), size); }
int x_sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
int x_lock(sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); }
int x_unlock(sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); }
int x_check_reserved_lock(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
int x_file_control(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device_characteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int remove) { return real(f)->pMethods->xShmUnmap(real(f), remove); }
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  if (is_main(f)) record(offset);
  return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), offset, p);
}

const sqlite3_io_methods kMethods = {3,          x_close,        x_read,         x_write,         x_truncate,
                                     x_sync,     x_file_size,    x_lock,         x_unlock,        x_check_reserved_lock,
                                     x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
                                     x_shm_barrier, x_shm_unmap, x_fetch, x_unfetch};

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* t = reinterpret_cast<TraceFile*>(f);
  t->real = reinterpret_cast<sqlite3_file*>(t + 1);
  t->main = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  t->base.pMethods = nullptr;
  const int rc = g_real->xOpen(g_real, name, t->real, flags, out_flags);
  if (t->real->pMethods) t->base.pMethods = &kMethods;
  (void)vfs;
  return rc;
}

}  // namespace

PageTrace& PageTrace::install() {
  static PageTrace trace;
  static sqlite3_vfs vfs;
  if (!g_real) {
    g_real = sqlite3_vfs_find(nullptr);
    if (!g_real || g_real->iVersion < 1) throw std::runtime_error("no default SQLite VFS to trace");
    vfs = *g_real;
    vfs.szOsFile = static_cast<int>(sizeof(TraceFile)) + g_real->szOsFile;
    vfs.zName = "beamflow_page_trace";
    vfs.xOpen = x_open;
    if (sqlite3_vfs_register(&vfs, 1) != SQLITE_OK) throw std::runtime_error("cannot register the tracing VFS");
  }
  return trace;
}

void PageTrace::start() {
  std::lock_guard lock(g_mutex);
  g_pages.clear();
  g_recording = true;
}

std::set<std::uint32_t> PageTrace::stop() {
  std::lock_guard lock(g_mutex);
  g_recording = false;
  return std::move(g_pages);
}

void PageTrace::name_pages(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot open " + path);
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(raw, "SELECT pageno, name FROM dbstat", -1, &raw_stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("dbstat: ") + sqlite3_errmsg(raw));
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> s(raw_stmt, sqlite3_finalize);
  while (sqlite3_step(raw_stmt) == SQLITE_ROW) {
    const auto page = static_cast<std::size_t>(sqlite3_column_int64(raw_stmt, 0));
    if (page >= m_owner.size()) m_owner.resize(page + 1);
    m_owner[page] = reinterpret_cast<const char*>(sqlite3_column_text(raw_stmt, 1));
  }
}

const std::string& PageTrace::owner(std::uint32_t page) const {
  static const std::string kOther = "(other)";
  return page < m_owner.size() && !m_owner[page].empty() ? m_owner[page] : kOther;
}

}  // namespace beamflow::bench
