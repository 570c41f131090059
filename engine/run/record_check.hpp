#pragma once
// What a journal record must hold before it is replayed or shown. A record
// with a valid CRC can still be wrong (crafted, or written by another
// program): its fields are checked here against record.hpp's table (types,
// required keys, bounds), and the order of a run's records (RunStarted first
// and once, nothing after RunEnded), so a bad record is a typed run.record
// error naming the record and the field, never an exception from deep inside
// the JSON library, a huge allocation or a guess.
#include <cstddef>
#include <vector>

#include "run/record.hpp"

namespace beamflow::run {

// The most children one Parallel or Map frame may record (ChildrenStarted n).
// A Map over more items than this fails validation on replay; the live engine
// never gets near it (items must fit the state payload limit).
inline constexpr std::size_t kMaxChildren = std::size_t{1} << 24;

// Throws Error "run.record" (context record=, field=) when `e` breaks its
// record type's schema.
void check_record(const Event& e);
// check_record on each event, then the order rules. `index` in errors counts
// from 1.
void check_history(const std::vector<Event>& events);

}  // namespace beamflow::run
