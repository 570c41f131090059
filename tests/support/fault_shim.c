// Fault injection for tests only: an LD_PRELOAD library that makes chosen
// file system calls fail (or return corrupted bytes) on chosen files.
//
// Why: the transfer's I/O error paths (transfer.source.unreadable,
// transfer.destination.io, transfer.manifest.io, transfer.verify.mismatch)
// need a read, write or sync that fails half-way through a copy. A failing
// block device (dm-error, dm-flakey) needs root and a device per test; this
// shim needs neither and drives the real `beamflow` binary unchanged.
//
// It is loaded only into a child process whose environment a test sets
// (LD_PRELOAD and the BF_FAULT_* variables below, through
// test::ProcessOptions::env): never into a test process, so it cannot leak
// into other tests. Without BF_FAULT_CALL it passes every call through.
//
//   BF_FAULT_CALL   read    pread, pread64, preadv, preadv64, preadv2, read fail
//                   write   pwrite, pwrite64, pwritev, pwritev64, pwritev2, write fail
//                   sync    fsync, fdatasync, syncfs fail
//                   corrupt the read calls succeed with their first byte flipped
//   BF_FAULT_PATH   the call applies only to descriptors whose path
//                   (/proc/self/fd/N) contains this text
//   BF_FAULT_AFTER  this many matching calls pass first (default 0): the
//                   fault hits mid-copy; every matching call after them
//                   fails (a bad block stays bad), counted across threads
//   BF_FAULT_ERRNO  the errno of a failure (default EIO)
//   BF_FAULT_LOG    a file that gets one line "CALL PATH" per injected fault,
//                   so that a test can check the fault fired where it meant
//
// The calls covered are every data and sync call beamflow imports (checked
// with nm -D: pread, preadv, pwrite, read, write, fsync, fdatasync, syncfs);
// it uses no copy_file_range, sendfile, splice or io_uring, and its only mmap
// (mincore of a source, no data read) needs no cover. A call made with
// syscall(2) directly would bypass this shim.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { NONE, READ, WRITE, SYNC, CORRUPT };

static enum kind g_kind = NONE;
static const char* g_path = "";
static const char* g_log = NULL;
static long g_after = 0;
static int g_errno = EIO;
static long g_count = 0;  // matching calls so far (atomic)
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init(void) {
  const char* call = getenv("BF_FAULT_CALL");
  if (!call) return;
  if (strcmp(call, "read") == 0) g_kind = READ;
  else if (strcmp(call, "write") == 0) g_kind = WRITE;
  else if (strcmp(call, "sync") == 0) g_kind = SYNC;
  else if (strcmp(call, "corrupt") == 0) g_kind = CORRUPT;
  const char* v;
  if ((v = getenv("BF_FAULT_PATH"))) g_path = v;
  if ((v = getenv("BF_FAULT_AFTER"))) g_after = atol(v);
  if ((v = getenv("BF_FAULT_ERRNO"))) g_errno = atoi(v);
  g_log = getenv("BF_FAULT_LOG");
}

static void* next(const char* name) { return dlsym(RTLD_NEXT, name); }

// Writes straight to the kernel: never through the shim's own write().
static void log_fault(const char* call, const char* path) {
  if (!g_log) return;
  const int fd = (int)syscall(SYS_openat, AT_FDCWD, g_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char line[4200];
  const int n = snprintf(line, sizeof line, "%s %s\n", call, path);
  if (n > 0) syscall(SYS_write, fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
  syscall(SYS_close, fd);
}

// Whether this call on `fd` is one to fault: the call's kind is chosen, the
// descriptor's path matches, and BF_FAULT_AFTER matching calls have passed.
static int hits(enum kind k, int fd, const char* call) {
  pthread_once(&g_once, init);
  if (g_kind != k) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  if (!strstr(path, g_path)) return 0;
  if (__atomic_fetch_add(&g_count, 1, __ATOMIC_SEQ_CST) < g_after) return 0;
  log_fault(call, path);
  return 1;
}

static ssize_t fail(void) {
  errno = g_errno;
  return -1;
}

// A read that succeeded, with its first byte flipped when it is to be corrupted.
static ssize_t corrupt(int fd, const char* call, ssize_t got, void* first) {
  if (got > 0 && hits(CORRUPT, fd, call)) *(unsigned char*)first ^= 0xff;
  return got;
}

#define REAL(name, type) ((type)next(#name))

ssize_t read(int fd, void* buf, size_t n) {
  if (hits(READ, fd, "read")) return fail();
  return corrupt(fd, "read", REAL(read, ssize_t (*)(int, void*, size_t))(fd, buf, n), buf);
}

#define PREAD(name)                                                                        \
  ssize_t name(int fd, void* buf, size_t n, off_t off) {                                   \
    if (hits(READ, fd, #name)) return fail();                                              \
    return corrupt(fd, #name, REAL(name, ssize_t (*)(int, void*, size_t, off_t))(fd, buf, n, off), buf); \
  }
PREAD(pread)
PREAD(pread64)

#define PREADV(name)                                                                                        \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t off) {                                    \
    if (hits(READ, fd, #name)) return fail();                                                               \
    return corrupt(fd, #name, REAL(name, ssize_t (*)(int, const struct iovec*, int, off_t))(fd, iov, count, off), \
                   count > 0 ? iov[0].iov_base : NULL);                                                     \
  }
PREADV(preadv)
PREADV(preadv64)

ssize_t preadv2(int fd, const struct iovec* iov, int count, off_t off, int flags) {
  if (hits(READ, fd, "preadv2")) return fail();
  return corrupt(fd, "preadv2",
                 REAL(preadv2, ssize_t (*)(int, const struct iovec*, int, off_t, int))(fd, iov, count, off, flags),
                 count > 0 ? iov[0].iov_base : NULL);
}

ssize_t write(int fd, const void* buf, size_t n) {
  if (hits(WRITE, fd, "write")) return fail();
  return REAL(write, ssize_t (*)(int, const void*, size_t))(fd, buf, n);
}

#define PWRITE(name)                                                            \
  ssize_t name(int fd, const void* buf, size_t n, off_t off) {                  \
    if (hits(WRITE, fd, #name)) return fail();                                  \
    return REAL(name, ssize_t (*)(int, const void*, size_t, off_t))(fd, buf, n, off); \
  }
PWRITE(pwrite)
PWRITE(pwrite64)

#define PWRITEV(name)                                                                               \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t off) {                             \
    if (hits(WRITE, fd, #name)) return fail();                                                      \
    return REAL(name, ssize_t (*)(int, const struct iovec*, int, off_t))(fd, iov, count, off);      \
  }
PWRITEV(pwritev)
PWRITEV(pwritev64)

ssize_t pwritev2(int fd, const struct iovec* iov, int count, off_t off, int flags) {
  if (hits(WRITE, fd, "pwritev2")) return fail();
  return REAL(pwritev2, ssize_t (*)(int, const struct iovec*, int, off_t, int))(fd, iov, count, off, flags);
}

#define SYNC_CALL(name)                               \
  int name(int fd) {                                  \
    if (hits(SYNC, fd, #name)) return (int)fail();    \
    return REAL(name, int (*)(int))(fd);              \
  }
SYNC_CALL(fsync)
SYNC_CALL(fdatasync)
SYNC_CALL(syncfs)
