#include "parallel/mpi_settings.hpp"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>

namespace beamflow::parallel {

std::vector<std::pair<std::string, std::string>> open_mpi_defaults(const platform::EnvLookup& env) {
  const auto size = env("OMPI_COMM_WORLD_SIZE"), local = env("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!size || !local || size->empty() || *size != *local) return {};
  if (env("OMPI_MCA_pml")) return {};
  return {{"OMPI_MCA_pml", "ob1"}};
}

void set_open_mpi_defaults() {
  const auto defaults = open_mpi_defaults([](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
  for (const auto& [name, value] : defaults) ::setenv(name.c_str(), value.c_str(), 0);
}

std::vector<int> open_tcp_sockets() {
  std::vector<int> out;
  const std::unique_ptr<DIR, int (*)(DIR*)> fds(::opendir("/proc/self/fd"), &::closedir);
  if (!fds) return out;
  const int own = ::dirfd(fds.get());
  while (const dirent* entry = ::readdir(fds.get())) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    int type = 0;
    socklen_t size = sizeof type;
    if (::getsockopt(int(fd), SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage address{};
    size = sizeof address;
    if (::getsockname(int(fd), reinterpret_cast<sockaddr*>(&address), &size) == 0 &&
        (address.ss_family == AF_INET || address.ss_family == AF_INET6))
      out.push_back(int(fd));
  }
  return out;
}

int tcp_no_delay(const std::vector<int>& sockets) {
  int set = 0;
  const int on = 1;
  for (const int fd : sockets)
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++set;
  return set;
}

}  // namespace beamflow::parallel
