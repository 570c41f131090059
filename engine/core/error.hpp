#pragma once
// Typed errors. Every error beamflow raises has a stable dotted id
// ("lang.path.syntax"), the ASL error name a flow's Retry/Catch sees
// ("States.Runtime"), a message, and context pairs (state=, file=, dataset=).
// docs/errors.md lists the ids.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace beamflow {

class Error : public std::runtime_error {
 public:
  using Context = std::vector<std::pair<std::string, std::string>>;

  Error(std::string id, std::string asl_name, std::string message, Context context = {},
        bool retryable = false);

  const std::string& id() const noexcept { return m_id; }
  // The error name a flow sees, e.g. "States.ParameterPathFailure".
  const std::string& asl_name() const noexcept { return m_asl_name; }
  const std::string& message() const noexcept { return m_message; }
  const Context& context() const noexcept { return m_context; }
  bool retryable() const noexcept { return m_retryable; }
  // The errno of the failed system call behind this error (0: none). It lets
  // the engine tell a failure of the storage its own state lives on (ENOSPC,
  // EIO, ...: the run stops INTERRUPTED, resumable) from an action's failure.
  int system_errno() const noexcept { return m_errno; }
  Error& with_errno(int err) noexcept {
    m_errno = err;
    return *this;
  }

  // Adds one context pair; returns *this so callers can rethrow with more context:
  //   catch (Error& e) { e.with("state", name); throw; }
  Error& with(std::string key, std::string value);

  const char* what() const noexcept override { return m_what.c_str(); }

 private:
  void render();
  std::string m_id;
  std::string m_asl_name;
  std::string m_message;
  Context m_context;
  bool m_retryable;
  int m_errno = 0;
  std::string m_what;
};

// An error raised *inside* a flow (by a Fail state, an action, or the
// interpreter): the (Error, Cause) pair of ASL. A value, not an exception.
struct FlowError {
  std::string error;
  std::string cause;
  friend bool operator==(const FlowError&, const FlowError&) = default;
};

// ASL names used by the interpreter. Kept in one place so a typo cannot
// create a new error name.
namespace states_error {
inline constexpr const char* All = "States.ALL";
inline constexpr const char* HeartbeatTimeout = "States.HeartbeatTimeout";
inline constexpr const char* Timeout = "States.Timeout";
inline constexpr const char* TaskFailed = "States.TaskFailed";
inline constexpr const char* Permissions = "States.Permissions";
inline constexpr const char* ResultPathMatchFailure = "States.ResultPathMatchFailure";
inline constexpr const char* ParameterPathFailure = "States.ParameterPathFailure";
inline constexpr const char* QueryEvaluationError = "States.QueryEvaluationError";
inline constexpr const char* BranchFailed = "States.BranchFailed";
inline constexpr const char* NoChoiceMatched = "States.NoChoiceMatched";
inline constexpr const char* IntrinsicFailure = "States.IntrinsicFailure";
inline constexpr const char* ExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold";
inline constexpr const char* ItemReaderFailed = "States.ItemReaderFailed";
inline constexpr const char* ResultWriterFailed = "States.ResultWriterFailed";
inline constexpr const char* Runtime = "States.Runtime";
inline constexpr const char* DataLimitExceeded = "States.DataLimitExceeded";
}  // namespace states_error

}  // namespace beamflow
