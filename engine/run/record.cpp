#include "run/record.hpp"

#include "core/error.hpp"
#include "core/json_parse.hpp"

namespace beamflow::run {

const char* to_string(RecordType t) noexcept {
  switch (t) {
    case RecordType::RunStarted: return "RunStarted";
    case RecordType::StateEntered: return "StateEntered";
    case RecordType::TaskScheduled: return "TaskScheduled";
    case RecordType::TaskSucceeded: return "TaskSucceeded";
    case RecordType::TaskFailed: return "TaskFailed";
    case RecordType::RetryScheduled: return "RetryScheduled";
    case RecordType::RetryStarted: return "RetryStarted";
    case RecordType::WaitStarted: return "WaitStarted";
    case RecordType::ChildrenStarted: return "ChildrenStarted";
    case RecordType::FrameEnded: return "FrameEnded";
    case RecordType::FrameCancelled: return "FrameCancelled";
    case RecordType::RunEnded: return "RunEnded";
  }
  return "Unknown";
}

std::vector<std::uint8_t> encode(const Event& e) { return Json::to_cbor(e.body); }

void encode_into(const Event& e, std::vector<std::uint8_t>& out) {
  out.clear();
  Json::to_cbor(e.body, out);
}

Event decode(std::uint16_t type, const std::vector<std::uint8_t>& payload) {
  if (type < static_cast<std::uint16_t>(RecordType::RunStarted) ||
      type > static_cast<std::uint16_t>(RecordType::RunEnded)) {
    throw Error("run.record", states_error::Runtime, "unknown journal record type",
                {{"type", std::to_string(type)}});
  }
  Json body;
  try {
    body = parse_cbor(payload, std::string("journal record ") + to_string(static_cast<RecordType>(type)));
  } catch (const Error& e) {
    // Too deep (json.too_deep: never built, so never a stack overflow) or not CBOR.
    throw Error("run.record", states_error::Runtime, "journal record body is not a CBOR object: " + e.message(),
                {{"type", to_string(static_cast<RecordType>(type))}});
  }
  if (!body.is_object()) {
    throw Error("run.record", states_error::Runtime, "journal record body is not a CBOR object",
                {{"type", to_string(static_cast<RecordType>(type))}});
  }
  return Event{static_cast<RecordType>(type), std::move(body)};
}

}  // namespace beamflow::run
