// Group over MPI: agree and broadcast are parallel::Comm's; gather is
// MPI_Gather of the lengths then MPI_Gatherv of the bytes.
#include <mpi.h>

#include "jobs/transfer/group.hpp"
#include "parallel/comm.hpp"

namespace beamflow::transfer {

namespace {

class MpiGroup final : public Group {
 public:
  explicit MpiGroup(const parallel::Comm& comm) : m_comm(comm) {}
  int rank() const override { return m_comm.rank(); }
  int size() const override { return m_comm.size(); }
  void agree(std::exception_ptr outcome) const override { m_comm.agree(outcome); }
  using Group::agree;
  std::string broadcast(const std::string& value) const override { return m_comm.broadcast(value, 0); }
  double max(double value) const override { return m_comm.max(value); }

  std::vector<std::string> gather(const std::string& value) const override {
    const int n = m_comm.size();
    int mine = static_cast<int>(value.size());
    std::vector<int> lengths(static_cast<std::size_t>(n)), offsets(static_cast<std::size_t>(n));
    MPI_Gather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, m_comm.mpi());
    int total = 0;
    for (int r = 0; r < n; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += lengths[static_cast<std::size_t>(r)];
    }
    std::string all(m_comm.is_root() ? static_cast<std::size_t>(total) : 0, '\0');
    MPI_Gatherv(value.data(), mine, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                m_comm.mpi());
    std::vector<std::string> out;
    if (!m_comm.is_root()) return out;
    for (int r = 0; r < n; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
    return out;
  }

 private:
  const parallel::Comm& m_comm;
};

}  // namespace

std::unique_ptr<Group> mpi_group(const parallel::Comm& comm) { return std::make_unique<MpiGroup>(comm); }

}  // namespace beamflow::transfer
