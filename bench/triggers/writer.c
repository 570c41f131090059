/* bench/triggers: writes files DIR/wW_I.dat (I in [0, N)) as fast as it can,
   each opened, written (64 bytes) and closed: what an acquisition program
   dropping small files does. Usage: writer DIR W N [held]

   Exactly, per file: the path DIR/wW_I.dat made with snprintf (a name of
   8-12 characters), open(2) of it by that path with O_WRONLY | O_CREAT |
   O_TRUNC | O_CLOEXEC, 0644 (O_TRUNC does nothing to a file it creates),
   one write(2) of 64 bytes, close(2): three system calls, no fsync, no stat,
   no rename, no temporary name. The WRITERS processes share one directory
   (DIR), as a detector's writers filling one scan directory do; creating in
   one directory serializes on its lock in the kernel, which several
   directories would not. The peer (inotifywait) faces the same writers: the
   same binary, counts and file system, in a fresh directory of the same
   run, right after ours.

   `held`: the same calls per file, in two phases: every file opened and
   written, then the process stops itself (SIGSTOP) until the bench
   continues it (SIGCONT), then every file closed. The watched events are
   the same (one IN_CLOSE_WRITE of a new 64-byte file each; a watcher with
   quiet-seconds 0 does not watch IN_CREATE), but they all come after the
   writers' costly part (creating the names), in a burst the watcher
   cannot keep up with: the time from the first close to the last hand-off
   is the watcher's, not the writers'. Holds N descriptors open (the soft
   limit is raised to the hard one; the bench keeps N below it).

   What a detector's writers do differently: larger files (frames of
   megabytes: fewer files a second, each one's data the larger cost), and
   often a temporary name renamed at the end (seen as a move-in, one event
   as here). On this bench's ext4 disk the writers' own cost per file
   (22-33 us of CPU measured, the directory lookup of a new name the largest
   part) is of the watcher's order, so on a 2-core node they and the
   watcher share the CPU: without `held` the figure is bound by whichever
   is slower, the writers on this bench's disk (session 22). ext4 without
   a journal skips inodes freed in the last 5-30 s when it allocates one
   (recently_deleted): creating 100,000 files right after deleting as many
   (a run right after the last one's clean-up) cost the writers 4 times the
   CPU here (perf); sync and drop the caches between disk runs. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && strcmp(argv[4], "held") == 0)) return 2;
  const int w = atoi(argv[2]);
  const long n = atol(argv[3]);
  const int held = argc == 5;
  int* fds = NULL;
  if (held) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0 || (rlim_t)n + 16 > lim.rlim_cur) {
      fprintf(stderr, "writer: %ld files held open need a limit of open files above %ld (hard limit %lu)\n", n,
              n + 16, (unsigned long)lim.rlim_max);
      return 1;
    }
    fds = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!fds) return 1;
  }
  char path[4096], body[64];
  memset(body, 'x', sizeof body);
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/w%d_%ld.dat", argv[1], w, i);
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, body, sizeof body) != (ssize_t)sizeof body || (!held && close(fd) != 0)) {
      perror(path);
      return 1;
    }
    if (held) fds[i] = fd;
  }
  if (!held) return 0;
  raise(SIGSTOP);  /* until the bench's SIGCONT: every writer has written every file */
  for (long i = 0; i < n; ++i)
    if (close(fds[i]) != 0) {
      perror("close");
      return 1;
    }
  return 0;
}
