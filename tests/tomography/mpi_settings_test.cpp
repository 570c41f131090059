#include "parallel/mpi_settings.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>

#include "parallel/runtime.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::parallel {
namespace {

using Env = std::map<std::string, std::string>;
using Settings = std::vector<std::pair<std::string, std::string>>;

Settings defaults(const Env& env) {
  return open_mpi_defaults([&](const char* name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

TEST(OpenMpiDefaults, AJobOnOneNodeUsesOb1) {
  EXPECT_EQ(defaults({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
            (Settings{{"OMPI_MCA_pml", "ob1"}}));
}

TEST(OpenMpiDefaults, TheUsersChoiceAndOtherJobsAreLeftAlone) {
  // mpirun -mca pml ucx (or OMPI_MCA_pml in the environment)
  EXPECT_TRUE(defaults({{"OMPI_COMM_WORLD_SIZE", "2"},
                        {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                        {"OMPI_MCA_pml", "ucx"}})
                  .empty());
  // ranks on several nodes: the site's fabric
  EXPECT_TRUE(defaults({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}).empty());
  // not started by Open MPI's launcher (srun, MPICH, no launcher)
  EXPECT_TRUE(defaults({{"PMI_SIZE", "2"}}).empty());
  EXPECT_TRUE(defaults({}).empty());
}

using Fd = fs::detail::UniqueFd;

bool no_delay(int fd) {
  int on = 0;
  socklen_t size = sizeof on;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &size) == 0 && on != 0;
}

bool found(const std::vector<int>& fds, int fd) { return std::find(fds.begin(), fds.end(), fd) != fds.end(); }

TEST(TcpNoDelay, TheOpenTcpSocketsAreFoundAndTakeTheOption) {
  const Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(listener.get(), 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
  const Fd client(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), size), 0);
  const Fd server(::accept(listener.get(), nullptr, nullptr));
  ASSERT_GE(server.get(), 0);
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const Fd unix0(pair[0]), unix1(pair[1]);
  ASSERT_FALSE(no_delay(client.get()));  // Linux's default: Nagle on
  ASSERT_FALSE(no_delay(server.get()));

  const std::vector<int> tcp = open_tcp_sockets();
  EXPECT_TRUE(found(tcp, listener.get()) && found(tcp, client.get()) && found(tcp, server.get()));
  EXPECT_FALSE(found(tcp, unix0.get()) || found(tcp, unix1.get()));
  EXPECT_EQ(tcp_no_delay({client.get(), server.get(), unix0.get()}), 2);
  EXPECT_TRUE(no_delay(client.get()));
  EXPECT_TRUE(no_delay(server.get()));
}

// Under mpirun the ranks hold the MPI library's TCP connection to the
// launcher; ParallelRuntime (tests/tomography/main.cpp) has turned Nagle off
// on it. Run alone, the process has no TCP socket.
TEST(TcpNoDelay, NoTcpSocketOfTheMpiRuntimeWaitsForNagle) {
  if (!ParallelRuntime::mpi_active()) GTEST_SKIP() << "one rank without MPI: no MPI sockets";
  for (const int fd : open_tcp_sockets()) EXPECT_TRUE(no_delay(fd)) << "descriptor " << fd;
}

}  // namespace
}  // namespace beamflow::parallel
