#pragma once
// The action-provider contract (Globus Automate): an action declares what it
// is and is driven by run / status / cancel / release, JSON in and JSON out.
// `run` is idempotent in the action_id: calling it again with the same id
// (after a crash, say) must re-attach to the existing action, never start a
// second one.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace beamflow::actions {

using Clock = std::chrono::system_clock;

struct ActionInfo {
  std::string name;         // "echo", "command", "reconstruct", ...
  std::string description;
  Json input_schema;        // JSON Schema of the input document
  bool synchronous = true;  // run() returns a final status
  // True when running the action twice is observable (files written,
  // counters bumped). Such actions keep durable per-action state under
  // ActionRequest::state_dir; pure ones are simply re-run after a crash.
  bool side_effects = false;
};

enum class ActionStatus { Active, Inactive, Succeeded, Failed };
const char* to_string(ActionStatus s) noexcept;  // "ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED"

struct ActionState {
  std::string action_id;
  ActionStatus status = ActionStatus::Active;
  Json details;             // output when Succeeded; progress info otherwise
  std::string error;        // ASL error name when Failed
  std::string cause;        // human-readable cause when Failed
  // Last sign of life, for HeartbeatSeconds; unset when the action does not
  // report one.
  std::optional<Clock::time_point> heartbeat;
  // How long the engine may wait before polling status() again.
  std::chrono::milliseconds poll_after{50};

  bool done() const noexcept {
    return status == ActionStatus::Succeeded || status == ActionStatus::Failed;
  }
  static ActionState succeeded(std::string id, Json details);
  static ActionState failed(std::string id, std::string error, std::string cause);
  static ActionState active(std::string id, std::chrono::milliseconds poll_after, Json details = {});
};

// A directory of an ActionRequest: immutable text shared by its copies
// (copying a request copies a pointer), parsed into a std::filesystem::path
// only when something reads it as one, once. It reads as a `const path&`
// wherever one is taken. A pilot's coordinator builds a request for every
// task and reads its directories only as text (to send them to a worker):
// parsing three paths into their components per task, and freeing them, was
// the largest single item of its CPU per no-op task.
class SharedPath {
 public:
  SharedPath() = default;
  SharedPath(std::string text);
  SharedPath(const char* text) : SharedPath(std::string(text)) {}
  SharedPath(std::string_view text) : SharedPath(std::string(text)) {}
  SharedPath(const std::filesystem::path& p) : SharedPath(p.native()) {}

  // The text ("" when empty); never parses.
  const std::string& native() const noexcept;
  std::string string() const { return native(); }
  const char* c_str() const noexcept { return native().c_str(); }
  bool empty() const noexcept { return native().empty(); }
  // The parsed path, made at the first call (safe from any thread).
  const std::filesystem::path& path() const;
  operator const std::filesystem::path&() const { return path(); }
  std::filesystem::path operator/(const std::filesystem::path& rhs) const { return path() / rhs; }
  std::filesystem::path parent_path() const { return path().parent_path(); }
  // The same text (not path::compare's component-wise equality).
  friend bool operator==(const SharedPath& a, const SharedPath& b) noexcept { return a.native() == b.native(); }
  friend std::ostream& operator<<(std::ostream& os, const SharedPath& p);

 private:
  struct Rep {
    explicit Rep(std::string t) : text(std::move(t)) {}
    ~Rep() { delete parsed.load(std::memory_order_acquire); }
    std::string text;
    mutable std::atomic<const std::filesystem::path*> parsed{nullptr};
  };
  std::shared_ptr<const Rep> m_rep;  // null: empty
};

struct ActionRequest {
  std::string action_id;   // derived from (run id, frame, state, visit, attempt)
  Json input;              // the state's effective input (after Parameters)
  std::string run_id;
  std::string state_name;
  int attempt = 0;         // 0 for the first try, 1 for the first retry, ...
  // A directory private to this action_id, created by the caller, durable
  // across crashes: where side-effecting actions keep what lets run() be
  // idempotent and status() answer after the engine restarts.
  SharedPath state_dir;
  // Directory of the run, and the working directory the run was started from
  // (relative paths in inputs resolve against it). A driver's requests all
  // share the one copy of each.
  SharedPath run_dir;
  SharedPath work_dir;
};

// A request as JSON, state_dir included (the child process's request.json,
// the pilot's task messages), and back; a missing state_dir reads as empty.
// request_from_json throws what nlohmann::json throws on a bad document.
Json to_json(const ActionRequest& r);
ActionRequest request_from_json(const Json& j);

// What a task needs to run, declared by its action (the driver picks an
// executor from it: docs/architecture.md, "The driver").
struct Placement {
  // MPI ranks that form one job. 0: the action only waits (a timer, a
  // person's decision) and needs no rank: a pilot keeps it on the
  // coordinator instead of holding a worker rank for it.
  int ranks = 1;
  // Run as a child process (`beamflow __action NAME STATE_DIR`, under
  // `mpiexec -np ranks` when ranks > 1) under the crash-proof supervisor,
  // rather than in the engine's process.
  bool own_process = false;
  // What is recorded when that child ends without an outcome: an Error with
  // this id and ASL name, its message `what` + " exited with ...".
  struct NoOutcome {
    std::string id, error, what;
  } no_outcome;
  // Where a pilot may put the ranks of a job of ranks > 1: "one_node" (the
  // default: one mpiexec on one node), "spread" (one rank per node) or
  // "pack" (as few nodes as possible). pilot::node_policy() reads it.
  std::string nodes;
  // Set by a pilot: the host of each rank it holds for the task, the job's
  // rank 0 first. Ranks on more than one host run as a job step over those
  // nodes (platform::nested_launch); empty or one host: on this node.
  std::vector<std::string> hosts;
};

class Action {
 public:
  virtual ~Action() = default;
  virtual const ActionInfo& info() const = 0;
  virtual ActionState run(const ActionRequest& request) = 0;
  virtual ActionState status(const ActionRequest& request) = 0;
  // Best effort; returns the state after cancelling (usually Failed with
  // error "Action.Cancelled").
  virtual ActionState cancel(const ActionRequest& request) = 0;
  // Frees what the action holds once its result is recorded.
  virtual void release(const ActionRequest& request) {}
  // Where this request must run; in the engine's process by default.
  virtual Placement placement(const ActionRequest&) const { return {}; }
  // The action's work inside the child process of an own_process placement,
  // on every rank of it; the outcome of rank 0 is recorded. Default: run().
  virtual ActionState run_in_child(const ActionRequest& request) { return run(request); }
};

// Maps Task Resource strings and Action-state ActionUrls to actions.
// Accepted forms for an action named NAME: "NAME", "beamflow:NAME",
// "arn:...:NAME" (last ':' component), and URLs whose last path segment is
// NAME; explicit aliases (settings file) take precedence.
class ActionRegistry {
 public:
  void add(std::shared_ptr<Action> action);
  void alias(std::string resource, std::string action_name);
  // nullptr when nothing matches.
  Action* resolve(const std::string& resource) const;
  std::vector<const ActionInfo*> list() const;

 private:
  std::map<std::string, std::shared_ptr<Action>> m_actions;
  std::map<std::string, std::string> m_aliases;
};

// Registers the engine's built-in actions: echo, fail, flaky, add, sleep,
// command, approve.
void register_builtin_actions(ActionRegistry& registry);

}  // namespace beamflow::actions
