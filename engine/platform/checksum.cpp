#include "platform/checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"

namespace beamflow::platform {
namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::optional<std::string> sha256_file(const std::filesystem::path& path, std::stop_token stop) {
  auto failure = [&](const std::string& why) {
    return Error("fs.read", states_error::Runtime, "cannot checksum the file: " + why, {{"file", path.string()}});
  };
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (in.fd < 0) throw failure(std::strerror(errno));
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) throw failure(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw failure("not a regular file");
  Digest digest("SHA-256");
  // 8 MiB reads: large enough that the syscall count does not matter on a
  // parallel file system, small enough for any rank's memory.
  std::vector<char> buffer(std::size_t{8} << 20);
  while (true) {
    if (stop.stop_requested()) return std::nullopt;
    const ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failure(std::strerror(errno));
    if (n == 0) break;
    digest.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return digest.hex();
}

std::string sha256_file(const std::filesystem::path& path) { return *sha256_file(path, std::stop_token{}); }

}  // namespace beamflow::platform
