// Array intrinsics: States.Array, ArrayPartition, ArrayContains, ArrayRange,
// ArrayGetItem, ArrayLength, ArrayUnique. Integer arguments are rounded the
// way AWS documents ("Step Functions will round it off to the nearest
// integer"), i.e. Java's Math.round.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "lang/detail/intrinsic_node.hpp"
#include "lang/detail/limits.hpp"

namespace beamflow::lang::detail {

Json fn_array(const Intrinsic::Node&, Args& args) { return Json(std::move(args)); }

Json fn_array_partition(const Intrinsic::Node& call, Args& args) {
  const Json& array = array_arg(call, args, 0);
  const int chunk = int_arg(call, args, 1);
  if (chunk <= 0) fail(call, "chunk size must be a positive integer, not " + std::to_string(chunk));
  Json out = Json::array();
  const auto size = array.size();
  const auto step = static_cast<std::size_t>(chunk);
  for (std::size_t from = 0; from < size; from += step) {
    Json part = Json::array();
    for (std::size_t i = from; i < std::min(size, from + step); ++i) part.push_back(array[i]);
    out.push_back(std::move(part));
  }
  return out;
}

Json fn_array_contains(const Intrinsic::Node& call, Args& args) {
  const Json& array = array_arg(call, args, 0);
  return std::find(array.begin(), array.end(), args[1]) != array.end();
}

Json fn_array_range(const Intrinsic::Node& call, Args& args) {
  const std::int64_t start = int_arg(call, args, 0);
  const std::int64_t end = int_arg(call, args, 1);
  const std::int64_t step = int_arg(call, args, 2);
  if (step == 0) fail(call, "the step (argument 3) must not be zero");
  Json out = Json::array();
  if ((step > 0 && start > end) || (step < 0 && start < end)) return out;
  const std::int64_t count = (end - start) / step + 1;
  if (count > static_cast<std::int64_t>(kMaxRangeItems)) {
    fail(call, "the range would hold " + std::to_string(count) + " items; the limit is " +
                   std::to_string(kMaxRangeItems));
  }
  for (std::int64_t i = 0; i < count; ++i) out.push_back(start + i * step);
  return out;
}

Json fn_array_get_item(const Intrinsic::Node& call, Args& args) {
  const Json& array = array_arg(call, args, 0);
  const int index = int_arg(call, args, 1);
  if (index < 0 || static_cast<std::size_t>(index) >= array.size()) {
    fail(call, "index " + std::to_string(index) + " is out of range for an array of " +
                   std::to_string(array.size()) + " items");
  }
  return array[static_cast<std::size_t>(index)];
}

Json fn_array_length(const Intrinsic::Node& call, Args& args) {
  return array_arg(call, args, 0).size();
}

Json fn_array_unique(const Intrinsic::Node& call, Args& args) {
  const Json& array = array_arg(call, args, 0);
  // JSON equality (1 equals 1.0); first occurrences kept, in order. The
  // ordered set keeps this O(n log n) on payload-sized arrays.
  const auto less = [](const Json* a, const Json* b) { return *a < *b; };
  std::set<const Json*, decltype(less)> seen(less);
  Json out = Json::array();
  for (const Json& item : array) {
    if (seen.insert(&item).second) out.push_back(item);
  }
  return out;
}

}  // namespace beamflow::lang::detail
