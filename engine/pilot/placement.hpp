#pragma once
// Where a pilot runs its tasks: a pure decision from the queue and the ranks'
// state, made by the coordinator each time a task arrives or a rank frees up.
// It does no I/O, so the coordinator can journal its outcome before acting,
// and a test can state exactly what should happen.
//
// The rules:
// - Fair across flows: the next task considered is the oldest task of the
//   flow with the fewest tasks running (a 10,000-item Map does not starve a
//   one-task flow submitted after it); first come, first served within a flow.
// - Backfill: a task that does not fit now lets smaller ones behind it run,
//   until it has waited `reserve_after_ms`; from then on nothing is placed
//   ahead of it, so the ranks it needs drain and it starts (no starvation of
//   wide reconstructions by a stream of one-rank tasks).
// - A task that asks for more than the pilot has (ranks, ranks on one node,
//   memory per rank) is `impossible`, never queued forever: the coordinator
//   fails it with a clear error.
// - Locality: a task's ranks come from as few nodes as possible (nodes with
//   the most free ranks first); `one_node` demands a single node, `spread`
//   one rank per node.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamflow::pilot {

enum class NodePolicy { Pack, OneNode, Spread };

// The policy an action names in Placement::nodes ("one_node", "spread",
// "pack"); `fallback` when it names none or one unknown here.
NodePolicy node_policy(const std::string& name, NodePolicy fallback);

// What an action declares it needs.
struct Need {
  int ranks = 1;
  // The ranks run one MPI job together (a communicator over them); otherwise
  // they are independent slots (the placement is the same; the executor
  // differs).
  bool one_job = false;
  std::int64_t memory_bytes_per_rank = 0;  // 0: unknown
  NodePolicy nodes = NodePolicy::Pack;

  friend bool operator==(const Need&, const Need&) = default;
};

// The caller's name for a task, unique among those it passes (the
// scheduler's handle: a number, so a round of placement copies no string).
using TaskKey = std::uint64_t;

struct QueuedTask {
  TaskKey key = 0;
  // The run id: a view of the caller's string, which outlives the call (a
  // round of a pilot's placement copied it per task).
  std::string_view flow;
  Need need;
  std::uint64_t seq = 0;        // arrival order
  std::int64_t waited_ms = 0;   // how long it has been queued
};

struct RankState {
  int rank = 0;
  int node = 0;  // index of the rank's node
  bool free = true;
  bool healthy = true;  // false: lost (heartbeat) or draining
  std::int64_t memory_bytes = 0;  // 0: unknown (any need fits)
};

struct Assignment {
  TaskKey key = 0;
  std::vector<int> ranks;  // ascending; the first is the job's rank 0
};

struct PlacementPolicy {
  std::int64_t reserve_after_ms = 10'000;
};

struct PlacementResult {
  std::vector<Assignment> assignments;
  std::vector<TaskKey> impossible;     // tasks that can never fit
  std::optional<TaskKey> reserved_for;  // a task the ranks now drain for, if any
};

// `running` counts the tasks each flow has running now.
PlacementResult place(const std::vector<QueuedTask>& queue, const std::vector<RankState>& ranks,
                      const std::map<std::string, int>& running, const PlacementPolicy& policy = {});

}  // namespace beamflow::pilot
