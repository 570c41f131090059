#pragma once
// The ranks of an MPI job as the pilot's channel (parallel::Mailbox under
// engine/pilot's Channel interface: the engine never sees MPI), for
// `beamflow pilot` and `mpirun -np N beamflow run|resume`.
#include <unistd.h>

#include <string>
#include <vector>

#include "parallel/mailbox.hpp"
#include "pilot/channel.hpp"
#include "platform/launcher.hpp"

namespace beamflow::cli {

class MpiChannel final : public pilot::Channel {
 public:
  explicit MpiChannel(parallel::Mailbox& m) : m_box(m) {}
  int rank() const override { return m_box.rank(); }
  int size() const override { return m_box.size(); }
  void send(int to, std::string bytes) override { m_box.send(to, std::move(bytes)); }
  int fd() const override { return m_box.fd(); }
  std::vector<pilot::Envelope> receive() override {
    std::vector<pilot::Envelope> out;
    for (auto& [from, bytes] : m_box.receive()) out.push_back({from, std::move(bytes)});
    return out;
  }

 private:
  parallel::Mailbox& m_box;
};

// This node's name, what a worker tells the coordinator for placement: the
// name `srun --nodelist` takes (Slurm's node name where it differs from the
// host name; platform::node_name()).
inline std::string host_name() { return platform::node_name(); }

}  // namespace beamflow::cli
