#pragma once
// The ranks a transfer runs on. The driver needs four collectives: agree
// (collective error agreement: when any rank failed, every rank throws the
// lowest failing rank's error, so no rank is left waiting in a collective),
// broadcast, gather and a sum. MpiGroup runs them over MPI (parallel::Comm);
// SoloGroup is one process without MPI, for the flow action and for tests
// that fork and SIGKILL a transfer (forking an MPI process is not safe).
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace beamflow::parallel {
class Comm;
}

namespace beamflow::transfer {

class Group {
 public:
  virtual ~Group() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void agree(std::exception_ptr outcome) const = 0;
  virtual std::string broadcast(const std::string& value) const = 0;  // from rank 0
  virtual std::vector<std::string> gather(const std::string& value) const = 0;  // to rank 0
  virtual double max(double value) const = 0;
  bool is_root() const { return rank() == 0; }

  void agree(const std::function<void()>& step) const {
    std::exception_ptr outcome;
    try {
      step();
    } catch (...) {
      outcome = std::current_exception();
    }
    agree(outcome);
  }
};

class SoloGroup final : public Group {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void agree(std::exception_ptr outcome) const override {
    if (outcome) std::rethrow_exception(outcome);
  }
  using Group::agree;
  std::string broadcast(const std::string& value) const override { return value; }
  std::vector<std::string> gather(const std::string& value) const override { return {value}; }
  double max(double value) const override { return value; }
};

// Over an MPI communicator (not owned; must outlive the group).
std::unique_ptr<Group> mpi_group(const parallel::Comm& comm);

}  // namespace beamflow::transfer
