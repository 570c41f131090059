#include "pilot/placement.hpp"

#include <algorithm>
#include <numeric>
#include <optional>

namespace beamflow::pilot {
namespace {

bool fits_memory(const RankState& r, const Need& need) {
  return need.memory_bytes_per_rank <= 0 || r.memory_bytes <= 0 || r.memory_bytes >= need.memory_bytes_per_rank;
}

// The ranks of one call, grouped by node in node order and in rank order
// within a node, as positions in the call's copy of the ranks' state.
class Nodes {
 public:
  // `order`, `eligible`, `groups` and `packed`: storage, its contents replaced.
  struct Group {
    std::size_t begin = 0, size = 0;  // in `eligible`
  };
  Nodes(const std::vector<RankState>& state, std::vector<std::size_t>& order, std::vector<std::size_t>& eligible,
        std::vector<Group>& groups, std::vector<Group>& packed)
      : m_state(state), m_order(order), m_eligible(eligible), m_groups(groups), m_packed(packed) {
    m_order.resize(state.size());
    std::iota(m_order.begin(), m_order.end(), std::size_t{0});
    // std::sort with the position as the last key is a stable sort that
    // allocates no buffer (as neither do those below).
    std::sort(m_order.begin(), m_order.end(), [&](std::size_t a, std::size_t b) {
      if (state[a].node != state[b].node) return state[a].node < state[b].node;
      return state[a].rank != state[b].rank ? state[a].rank < state[b].rank : a < b;
    });
  }

  // The positions `need` would get, or false when it does not fit; only
  // free ranks count when `only_free`.
  bool choose(const Need& need, bool only_free, std::vector<std::size_t>& out) {
    group(need, only_free);
    const auto want = static_cast<std::size_t>(std::max(1, need.ranks));
    out.clear();
    if (need.nodes == NodePolicy::OneNode) {
      // Best fit: the node with the fewest free ranks that still holds it,
      // keeping emptier nodes whole for wider tasks.
      const Group* best = nullptr;
      for (const Group& g : m_groups)
        if (g.size >= want && (!best || g.size < best->size)) best = &g;
      if (!best) return false;
      out.assign(m_eligible.begin() + static_cast<std::ptrdiff_t>(best->begin),
                 m_eligible.begin() + static_cast<std::ptrdiff_t>(best->begin + want));
    } else if (need.nodes == NodePolicy::Spread) {
      if (m_groups.size() < want) return false;
      for (const Group& g : m_groups) {
        out.push_back(m_eligible[g.begin]);
        if (out.size() == want) break;
      }
    } else {
      // Pack: fullest nodes first, so the task spans as few nodes as possible.
      m_packed.assign(m_groups.begin(), m_groups.end());
      std::sort(m_packed.begin(), m_packed.end(),
                [](const Group& a, const Group& b) { return a.size != b.size ? a.size > b.size : a.begin < b.begin; });
      for (const Group& g : m_packed) {
        for (std::size_t i = g.begin; i < g.begin + g.size && out.size() < want; ++i) out.push_back(m_eligible[i]);
        if (out.size() == want) break;
      }
      if (out.size() < want) return false;
    }
    std::sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) { return m_state[a].rank < m_state[b].rank; });
    return true;
  }

 private:
  void group(const Need& need, bool only_free) {
    m_eligible.clear();
    m_groups.clear();
    for (const std::size_t i : m_order) {
      const RankState& r = m_state[i];
      if (!r.healthy || !fits_memory(r, need) || (only_free && !r.free)) continue;
      if (m_groups.empty() || m_state[m_eligible.back()].node != r.node) m_groups.push_back({m_eligible.size(), 0});
      m_eligible.push_back(i);
      ++m_groups.back().size;
    }
  }

  const std::vector<RankState>& m_state;
  std::vector<std::size_t>& m_order;     // positions by (node, rank)
  std::vector<std::size_t>& m_eligible;  // group(): positions, by node
  std::vector<Group>& m_groups;          // group(): in node order
  std::vector<Group>& m_packed;          // choose(): Pack's order
};

// A flow of the queue: its load (tasks running, then those placed here) and
// its tasks for the fair share, a list in arrival order through
// Scratch::next_task.
struct Flow {
  std::string_view name;
  int load = 0;
  std::size_t head = 0, tail = 0;  // positions in Scratch::sorted; kNone: none
};
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// A call's working storage, kept by the thread for its next call: a pilot
// places its light tasks in rounds of one task per worker rank, and the
// maps and vectors a call made afresh (a map of nodes twice per task, a copy
// of the flow's name per task) were a measured share of a task's cost on
// the coordinator.
struct Scratch {
  std::vector<RankState> state;
  std::vector<std::size_t> order, eligible, chosen;
  std::vector<Nodes::Group> groups, packed;
  std::vector<const QueuedTask*> sorted;
  std::vector<std::size_t> flow_of;    // index: position in the queue
  std::vector<std::size_t> next_task;  // index: position in `sorted`
  std::vector<Flow> flows;             // in name order
  std::vector<std::pair<Need, bool>> possible;
};

}  // namespace

NodePolicy node_policy(const std::string& name, NodePolicy fallback) {
  if (name == "one_node") return NodePolicy::OneNode;
  if (name == "spread") return NodePolicy::Spread;
  if (name == "pack") return NodePolicy::Pack;
  return fallback;
}

PlacementResult place(const std::vector<QueuedTask>& queue, const std::vector<RankState>& ranks,
                      const std::map<std::string, int>& running, const PlacementPolicy& policy) {
  PlacementResult result;
  if (queue.empty()) return result;
  thread_local Scratch x;
  std::vector<RankState>& state = x.state;
  state.assign(ranks.begin(), ranks.end());
  Nodes nodes(state, x.order, x.eligible, x.groups, x.packed);
  std::vector<std::size_t>& chosen = x.chosen;
  auto pos = [&](const QueuedTask& t) { return static_cast<std::size_t>(&t - queue.data()); };

  // The queue's flows, in name order, and each task's.
  std::vector<const QueuedTask*>& sorted = x.sorted;
  sorted.clear();
  for (const QueuedTask& t : queue) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->flow != b->flow ? a->flow < b->flow : a < b; });
  std::vector<Flow>& flows = x.flows;
  flows.clear();
  x.flow_of.resize(queue.size());
  for (const QueuedTask* t : sorted) {
    if (flows.empty() || flows.back().name != t->flow) flows.push_back({t->flow, 0, kNone, kNone});
    x.flow_of[pos(*t)] = flows.size() - 1;
  }
  // Both are in name order: one pass sets every load.
  auto run = running.begin();
  for (Flow& f : flows) {
    while (run != running.end() && std::string_view(run->first) < f.name) ++run;
    if (run != running.end() && std::string_view(run->first) == f.name) f.load = run->second;
  }
  auto flow = [&](const QueuedTask& t) -> Flow& { return flows[x.flow_of[pos(t)]]; };

  auto take = [&](const QueuedTask& t) {
    std::vector<int> out;
    out.reserve(chosen.size());
    for (const std::size_t i : chosen) {
      state[i].free = false;
      out.push_back(state[i].rank);
    }
    ++flow(t).load;
    result.assignments.push_back({t.key, std::move(out)});
  };

  // Arrival order (queue order among equal seqs).
  for (std::size_t i = 0; i < queue.size(); ++i) sorted[i] = &queue[i];
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->seq != b->seq ? a->seq < b->seq : a < b; });

  // Whether a need could fit an idle pilot, by need: the ranks' health and
  // memory do not change within a call.
  x.possible.clear();
  auto could_fit = [&](const Need& need) {
    for (const auto& [n, fits] : x.possible)
      if (n == need) return fits;
    const bool fits = nodes.choose(need, /*only_free=*/false, chosen);
    x.possible.emplace_back(need, fits);
    return fits;
  };

  // Tasks that could not fit even on an idle pilot are answered at once;
  // tasks that have waited long enough go first, oldest first, and the first
  // of them that does not fit stops everything behind it.
  x.next_task.assign(sorted.size(), kNone);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const QueuedTask* t = sorted[i];
    if (!could_fit(t->need)) {
      result.impossible.push_back(t->key);
    } else if (t->waited_ms >= policy.reserve_after_ms) {
      if (result.reserved_for) continue;
      if (nodes.choose(t->need, /*only_free=*/true, chosen)) {
        take(*t);
      } else {
        result.reserved_for = t->key;
      }
    } else {
      Flow& f = flow(*t);  // the rest, per flow, in arrival order
      (f.head == kNone ? f.head : x.next_task[f.tail]) = i;
      f.tail = i;
    }
  }
  if (result.reserved_for) return result;

  // Fair share with backfill: the oldest task of the least-loaded flow; one
  // that does not fit stays queued while the others are looked at.
  while (true) {
    Flow* next = nullptr;
    for (Flow& f : flows) {
      if (f.head == kNone) continue;
      if (!next || f.load < next->load || (f.load == next->load && sorted[f.head]->seq < sorted[next->head]->seq))
        next = &f;
    }
    if (!next) break;
    const QueuedTask* t = sorted[next->head];
    next->head = x.next_task[next->head];
    if (nodes.choose(t->need, /*only_free=*/true, chosen)) take(*t);
  }
  return result;
}

}  // namespace beamflow::pilot
