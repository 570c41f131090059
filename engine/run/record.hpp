#pragma once
// The records a run's journal holds. A run's state is a pure fold of its
// records (run_state.hpp): replaying the journal after a crash rebuilds
// exactly the state the dead process had made durable.
//
// Bodies are JSON objects (stored as CBOR); short keys keep the journal small:
//   RunStarted      {run_id, name, flow, work_dir, t, input, definition_sha256
//                    [, layout, definition]}   layout 2 (kRunDirLayout): the
//                   run directory keeps no definition.json or input.json, the
//                   definition is here (run_store.hpp); absent: layout 1
//   StateEntered    {f, s, in, t [, p, i] [, err:{e,c}]}   p/i: parent frame and index of a new child frame
//   TaskScheduled   {f, a, r, in, att, t [, dl] [, hb]}     a: action id, dl: deadline ms, hb: heartbeat s
//   TaskSucceeded   {f, a, out[, sel]}  sel: true when the state has a
//                   ResultSelector and `out` is already its result (the
//                   action's whole output stays in its state directory, never
//                   copied into the journal); absent: `out` is the whole
//                   output and replay applies the selector (older journals)
//   TaskFailed      {f, a, e, c}
//   RetryScheduled  {f, k, until, e, c}                     k: retrier index
//   RetryStarted    {f}
//   WaitStarted     {f, until}
//   ChildrenStarted {f, n}
//   FrameEnded      {f, ok, out | e, c}
//   FrameCancelled  {f}
//   RunEnded        {status, out | e, c, t}
// Times are milliseconds since the Unix epoch.
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace beamflow::run {

enum class RecordType : std::uint16_t {
  RunStarted = 1,
  StateEntered = 2,
  TaskScheduled = 3,
  TaskSucceeded = 4,
  TaskFailed = 5,
  RetryScheduled = 6,
  RetryStarted = 7,
  WaitStarted = 8,
  ChildrenStarted = 9,
  FrameEnded = 10,
  FrameCancelled = 11,
  RunEnded = 12,
};
const char* to_string(RecordType t) noexcept;

// The run directory layout new runs are written in (RunStarted's `layout`).
// 1 (no `layout`): definition.json and input.json beside the journal. 2: both
// in the journal's RunStarted, so a run makes two files fewer (run_store.hpp).
inline constexpr int kRunDirLayout = 2;

struct Event {
  RecordType type;
  Json body;
};

std::vector<std::uint8_t> encode(const Event& e);
// The same bytes, into `out` (cleared first): a driver encodes every record
// into one buffer it keeps, rather than into a vector grown byte by byte and
// freed per record.
void encode_into(const Event& e, std::vector<std::uint8_t>& out);
// Throws Error "run.record" for an unknown type or an undecodable body.
Event decode(std::uint16_t type, const std::vector<std::uint8_t>& payload);

}  // namespace beamflow::run
