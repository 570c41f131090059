#include "pilot/placement.hpp"

#include <algorithm>
#include <deque>
#include <optional>

namespace beamflow::pilot {
namespace {

bool fits_memory(const RankState& r, const Need& need) {
  return need.memory_bytes_per_rank <= 0 || r.memory_bytes <= 0 || r.memory_bytes >= need.memory_bytes_per_rank;
}

// Ranks grouped by node, in rank order within a node.
std::map<int, std::vector<int>> by_node(const std::vector<RankState>& ranks, bool only_free, const Need& need) {
  std::map<int, std::vector<int>> nodes;
  for (const RankState& r : ranks) {
    if (!r.healthy || !fits_memory(r, need) || (only_free && !r.free)) continue;
    nodes[r.node].push_back(r.rank);
  }
  for (auto& [node, list] : nodes) std::sort(list.begin(), list.end());
  return nodes;
}

// The ranks `need` would get from `nodes`, or nullopt when it does not fit.
std::optional<std::vector<int>> choose(const std::map<int, std::vector<int>>& nodes, const Need& need) {
  const auto want = static_cast<std::size_t>(std::max(1, need.ranks));
  std::vector<int> out;
  if (need.nodes == NodePolicy::OneNode) {
    // Best fit: the node with the fewest free ranks that still holds it,
    // keeping emptier nodes whole for wider tasks.
    const std::vector<int>* best = nullptr;
    for (const auto& [node, list] : nodes)
      if (list.size() >= want && (!best || list.size() < best->size())) best = &list;
    if (!best) return std::nullopt;
    out.assign(best->begin(), best->begin() + static_cast<std::ptrdiff_t>(want));
  } else if (need.nodes == NodePolicy::Spread) {
    if (nodes.size() < want) return std::nullopt;
    for (const auto& [node, list] : nodes) {
      out.push_back(list.front());
      if (out.size() == want) break;
    }
  } else {
    // Pack: fullest nodes first, so the task spans as few nodes as possible.
    std::vector<const std::vector<int>*> order;
    for (const auto& [node, list] : nodes) order.push_back(&list);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
    for (const auto* list : order) {
      for (int r : *list) {
        if (out.size() == want) break;
        out.push_back(r);
      }
    }
    if (out.size() < want) return std::nullopt;
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
  std::vector<RankState> state = ranks;
  std::map<std::string, int> load = running;

  auto take = [&](const QueuedTask& t, std::vector<int> chosen) {
    for (int r : chosen)
      for (RankState& s : state)
        if (s.rank == r) s.free = false;
    ++load[t.flow];
    result.assignments.push_back({t.key, std::move(chosen)});
  };

  std::vector<const QueuedTask*> sorted;
  for (const QueuedTask& t : queue) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->seq < b->seq; });

  // Tasks that could not fit even on an idle pilot are answered at once;
  // tasks that have waited long enough go first, oldest first, and the first
  // of them that does not fit stops everything behind it.
  std::map<std::string, std::deque<const QueuedTask*>> flows;  // the rest, per flow, in arrival order
  for (const QueuedTask* t : sorted) {
    if (!choose(by_node(state, /*only_free=*/false, t->need), t->need)) {
      result.impossible.push_back(t->key);
    } else if (t->waited_ms >= policy.reserve_after_ms) {
      if (result.reserved_for) continue;
      if (auto chosen = choose(by_node(state, /*only_free=*/true, t->need), t->need)) {
        take(*t, std::move(*chosen));
      } else {
        result.reserved_for = t->key;
      }
    } else {
      flows[t->flow].push_back(t);
    }
  }
  if (result.reserved_for) return result;

  // Fair share with backfill: the oldest task of the least-loaded flow; one
  // that does not fit stays queued while the others are looked at.
  while (true) {
    const QueuedTask* next = nullptr;
    for (const auto& [flow, tasks] : flows) {
      if (tasks.empty()) continue;
      const QueuedTask* head = tasks.front();
      if (!next || load[head->flow] < load[next->flow] ||
          (load[head->flow] == load[next->flow] && head->seq < next->seq))
        next = head;
    }
    if (!next) break;
    flows[next->flow].pop_front();
    if (auto chosen = choose(by_node(state, /*only_free=*/true, next->need), next->need)) take(*next, std::move(*chosen));
  }
  return result;
}

}  // namespace beamflow::pilot
