#pragma once
// One run on the ranks of an MPI job (`mpirun -np N beamflow run|resume`):
// rank 0 drives the run and its tasks go to ranks 1..N-1, placed and sent by
// a Scheduler whose loop is a thread of this pool. The same machinery as the
// pilot (scheduler.hpp, worker.hpp) without the pilot directory: one run, one
// run id, every side effect once, however many ranks mpirun started.
#include <memory>
#include <string>
#include <thread>

#include "pilot/channel.hpp"
#include "pilot/scheduler.hpp"
#include "platform/events.hpp"

namespace beamflow::pilot {

class RankPool {
 public:
  explicit RankPool(Channel& channel);
  // Stops the workers (they return from run_worker) and the loop.
  ~RankPool();
  RankPool(const RankPool&) = delete;
  RankPool& operator=(const RankPool&) = delete;

  // For RunOptions::executor.
  std::shared_ptr<run::Executor> executor(const std::string& run_id, fs::Wakeup& wakeup) {
    return m_scheduler.executor(run_id, wakeup);
  }

 private:
  void loop();
  Channel& m_channel;
  Scheduler m_scheduler;
  fs::Wakeup m_stop;
  std::thread m_thread;
};

}  // namespace beamflow::pilot
