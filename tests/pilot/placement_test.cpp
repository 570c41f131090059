// Placement decisions, stated exactly: fairness across flows, backfill and
// its limit, impossible needs, locality.
#include "pilot/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace beamflow::pilot {
namespace {

// `nodes` nodes of `per_node` ranks, all free; rank r on node r / per_node.
std::vector<RankState> ranks(int nodes, int per_node) {
  std::vector<RankState> out;
  for (int r = 0; r < nodes * per_node; ++r) out.push_back({r, r / per_node, true, true, 0});
  return out;
}

// A task's key is a number; the tests name tasks, numbered here.
std::vector<std::string>& names() {
  static std::vector<std::string> n;
  return n;
}
TaskKey key_of(const std::string& name) {
  auto& n = names();
  auto it = std::find(n.begin(), n.end(), name);
  if (it == n.end()) it = n.insert(n.end(), name);
  return static_cast<TaskKey>(it - n.begin());
}
std::vector<std::string> named(const std::vector<TaskKey>& keys) {
  std::vector<std::string> out;
  for (TaskKey k : keys) out.push_back(names().at(k));
  return out;
}

// A flow's name, kept for the tests' run: QueuedTask::flow views it.
std::string_view flow_name(std::string flow) {
  static std::set<std::string> kept;
  return *kept.insert(std::move(flow)).first;
}

QueuedTask task(const std::string& name, std::string flow, std::uint64_t seq, int n = 1,
                NodePolicy nodes = NodePolicy::Pack, std::int64_t waited = 0) {
  QueuedTask t;
  t.key = key_of(name);
  t.flow = flow_name(std::move(flow));
  t.seq = seq;
  t.need.ranks = n;
  t.need.nodes = nodes;
  t.waited_ms = waited;
  return t;
}

std::vector<std::string> keys(const PlacementResult& r) {
  std::vector<TaskKey> k;
  for (const auto& a : r.assignments) k.push_back(a.key);
  return named(k);
}

TEST(Placement, FirstComeFirstServedWithinAFlow) {
  const auto r = place({task("a2", "A", 2), task("a1", "A", 1), task("a3", "A", 3)}, ranks(1, 2), {});
  EXPECT_EQ(keys(r), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(r.assignments[0].ranks, std::vector<int>{0});
  EXPECT_EQ(r.assignments[1].ranks, std::vector<int>{1});
}

TEST(Placement, FairAcrossFlows_ABigMapDoesNotStarveALaterFlow) {
  std::vector<QueuedTask> q;
  for (int i = 0; i < 100; ++i) q.push_back(task("map" + std::to_string(i), "A", i));
  q.push_back(task("b", "B", 1000));
  // Flow A already has 3 running; B none: B's task goes first.
  const auto r = place(q, ranks(1, 2), {{"A", 3}});
  EXPECT_EQ(keys(r), (std::vector<std::string>{"b", "map0"}));
}

TEST(Placement, BackfillRunsSmallTasksPastOneThatDoesNotFit) {
  auto rs = ranks(1, 4);
  rs[0].free = rs[1].free = false;  // 2 of 4 busy
  const auto r = place({task("wide", "A", 1, 4), task("s1", "B", 2), task("s2", "C", 3)}, rs, {});
  EXPECT_EQ(keys(r), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_FALSE(r.reserved_for);
}

TEST(Placement, ATaskThatWaitedLongEnoughStopsBackfill) {
  auto rs = ranks(1, 4);
  rs[0].free = rs[1].free = false;
  PlacementPolicy policy;
  policy.reserve_after_ms = 5000;
  const auto r =
      place({task("wide", "A", 1, 4, NodePolicy::Pack, 6000), task("s1", "B", 2), task("s2", "C", 3)}, rs, {}, policy);
  EXPECT_TRUE(r.assignments.empty());
  ASSERT_TRUE(r.reserved_for);
  EXPECT_EQ(names().at(*r.reserved_for), "wide");
  // Once the ranks drained, it starts.
  const auto later = place({task("wide", "A", 1, 4, NodePolicy::Pack, 9000), task("s1", "B", 2)}, ranks(1, 4), {},
                           policy);
  EXPECT_EQ(keys(later), std::vector<std::string>{"wide"});
}

TEST(Placement, ImpossibleNeedsAreReportedNotQueuedForever) {
  auto rs = ranks(2, 2);
  rs[3].healthy = false;  // a lost rank does not count
  QueuedTask mem = task("mem", "A", 4);
  mem.need.memory_bytes_per_rank = 64;
  for (auto& r : rs) r.memory_bytes = 32;
  const auto r = place({task("five", "A", 1, 5), task("node3", "A", 2, 3, NodePolicy::OneNode),
                        task("spread3", "A", 3, 3, NodePolicy::Spread), mem, task("ok", "A", 5, 3)},
                       rs, {});
  EXPECT_EQ(named(r.impossible), (std::vector<std::string>{"five", "node3", "spread3", "mem"}));
  EXPECT_EQ(keys(r), std::vector<std::string>{"ok"});
}

TEST(Placement, PackUsesTheFewestNodes_OneNodeBestFit_SpreadOnePerNode) {
  auto rs = ranks(3, 4);
  rs[0].free = rs[1].free = rs[2].free = false;  // node 0 has 1 free rank
  rs[4].free = false;                            // node 1 has 3, node 2 has 4
  auto r = place({task("pack4", "A", 1, 4)}, rs, {});
  ASSERT_EQ(r.assignments.size(), 1u);
  EXPECT_EQ(r.assignments[0].ranks, (std::vector<int>{8, 9, 10, 11}));  // node 2 alone
  r = place({task("one3", "A", 1, 3, NodePolicy::OneNode)}, rs, {});
  EXPECT_EQ(r.assignments[0].ranks, (std::vector<int>{5, 6, 7}));  // node 1: the tightest fit
  r = place({task("spread3", "A", 1, 3, NodePolicy::Spread)}, rs, {});
  EXPECT_EQ(r.assignments[0].ranks, (std::vector<int>{3, 5, 8}));  // one on each node
}

TEST(Placement, NoRankIsGivenTwice) {
  std::vector<QueuedTask> q;
  for (int i = 0; i < 50; ++i) q.push_back(task("t" + std::to_string(i), "F" + std::to_string(i % 7), i, 1 + i % 3));
  const auto r = place(q, ranks(2, 4), {});
  std::vector<int> used;
  for (const auto& a : r.assignments) used.insert(used.end(), a.ranks.begin(), a.ranks.end());
  std::sort(used.begin(), used.end());
  EXPECT_TRUE(std::adjacent_find(used.begin(), used.end()) == used.end());
  EXPECT_EQ(used.size(), 8u);  // one-rank tasks remain, so backfill leaves no rank idle
}

}  // namespace
}  // namespace beamflow::pilot
