#pragma once
// The records a run's journal holds. A run's state is a pure fold of its
// records (run_state.hpp): replaying the journal after a crash rebuilds
// exactly the state the dead process had made durable.
//
// Bodies are JSON objects (stored as CBOR); short keys keep the journal small:
//   RunStarted      {run_id, name, flow, work_dir, t, input, definition_sha256
//                    [, layout, definition] [, submission]}   layout 2
//                   (kRunDirLayout): the run directory keeps no
//                   definition.json or input.json, the definition is here
//                   (run_store.hpp); absent: layout 1. submission: the
//                   pilot's submission id the run was started from
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
//
// Payload forms: a CBOR object (every record before, every record but the
// four below now), or, for TaskScheduled, TaskSucceeded, StateEntered and a
// succeeded frame's FrameEnded (a Map's every item, the no-op task's hot
// path), the compact form 1, told
// apart by its first byte (a CBOR object's is 0xa0-0xbf or 0xbf, never 0x01).
// Little endian; str = u32 length | bytes; cbor = the rest of the payload,
// one CBOR item:
//   TaskScheduled  0x01 | str f | str a | str r | i64 att | i64 t | u8 has_dl
//                  [| i64 dl] | u8 has_hb [| f64 hb] | cbor in
//   TaskSucceeded  0x01 | str f | str a | u8 sel | i64 t | cbor out
//   StateEntered   0x01 | str f | str s | i64 t | u8 has_p [| str p | u64 i]
//                  | u8 has_err [| str e | str c] | cbor in
//   FrameEnded     0x01 | str f | cbor out      (ok: a failed frame's is CBOR)
// Readers accept both forms of each (older journals are CBOR: StateEntered
// was CBOR only before session 19, FrameEnded before session 20); a beamflow
// before a record's compact form refuses a journal with it (run.record).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// TaskScheduled / TaskSucceeded typed (the fields of the table above): the
// interpreter builds these, applies and encodes them without a Json object.
struct TaskRecord {
  std::string f;  // frame
  std::string a;  // action id
  std::string r;  // resource (TaskScheduled)
  Json data;      // in (TaskScheduled) / out (TaskSucceeded)
  std::int64_t att = 0;
  std::int64_t t = 0;
  std::optional<std::int64_t> dl;
  std::optional<double> hb;
  bool sel = false;
};

// StateEntered typed (the table's fields): every state a frame enters, a
// Map's every item among them; built, applied and encoded without a Json
// object around its input.
struct EntryRecord {
  std::string f;  // frame
  std::string s;  // state
  Json in;
  std::int64_t t = 0;
  std::optional<std::string> p;  // parent frame of a new child frame ...
  std::uint64_t i = 0;           // ... and its index among the parent's children (with p)
  std::optional<std::pair<std::string, std::string>> err;  // the caught error (e, c)
};

// FrameEnded of a frame that succeeded, typed (the table's fields, ok true):
// a Map's every item ends so. A failed frame's stays a Json body.
struct EndRecord {
  std::string f;  // frame
  Json out;
};

struct Event {
  Event(RecordType t, Json b = Json(), std::optional<TaskRecord> typed = std::nullopt)
      : type(t), body(std::move(b)), task(std::move(typed)) {}
  explicit Event(EntryRecord typed) : type(RecordType::StateEntered), entry(std::move(typed)) {}
  explicit Event(EndRecord typed) : type(RecordType::FrameEnded), end(std::move(typed)) {}
  RecordType type;
  // Null for an event the interpreter built typed (`task`, `entry`, `end`);
  // decode() fills it for every record, so readers of a journal see one shape.
  Json body;
  std::optional<TaskRecord> task;
  std::optional<EntryRecord> entry;
  std::optional<EndRecord> end;
};

// The frame a record names ("f").
const std::string& frame_of(const Event& e);
// The record's fields as a Json object, whichever form it holds.
Json body_of(const Event& e);
// A typed record's fields from a decoded body (what record_check accepted).
TaskRecord task_record(RecordType type, const Json& body);
EntryRecord entry_record(const Json& body);

std::vector<std::uint8_t> encode(const Event& e);
// The same bytes, into `out` (cleared first): a driver encodes every record
// into one buffer it keeps, rather than into a vector grown byte by byte and
// freed per record.
void encode_into(const Event& e, std::vector<std::uint8_t>& out);
// Throws Error "run.record" for an unknown type or an undecodable body.
Event decode(std::uint16_t type, const std::vector<std::uint8_t>& payload);

}  // namespace beamflow::run
