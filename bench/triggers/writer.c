/* bench/triggers: writes files DIR/wW_I.dat (I in [0, N)) as fast as it can,
   each opened, written (64 bytes) and closed: what an acquisition program
   dropping small files does. Usage: writer DIR W N */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const int w = atoi(argv[2]);
  const long n = atol(argv[3]);
  char path[4096], body[64];
  memset(body, 'x', sizeof body);
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/w%d_%ld.dat", argv[1], w, i);
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, body, sizeof body) != (ssize_t)sizeof body || close(fd) != 0) {
      perror(path);
      return 1;
    }
  }
  return 0;
}
