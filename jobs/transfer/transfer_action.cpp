#include "jobs/transfer/transfer_action.hpp"

#include <cstdlib>
#include <mutex>

#include "actions/durable.hpp"
#include "actions/input_spec.hpp"
#include "jobs/transfer/errors.hpp"
#include "jobs/transfer/transfer.hpp"

namespace beamflow::transfer {

namespace {

std::filesystem::path endpoints_file(const Json& input, const actions::ActionRequest& request) {
  std::filesystem::path file;
  if (input.contains("endpoints")) {
    if (!input["endpoints"].is_string())
      throw request_error("transfer.request.invalid", "\"endpoints\" must be the path of an endpoints file",
                          {{"pointer", "/endpoints"}});
    file = input["endpoints"].get<std::string>();
  } else if (const char* env = std::getenv("BEAMFLOW_ENDPOINTS"); env && *env) {
    file = env;
  } else {
    const char* home = std::getenv("BEAMFLOW_HOME");
    file = std::filesystem::path(home && *home ? home : ".beamflow") / "endpoints.json";
  }
  return file.is_relative() && !request.work_dir.empty() ? request.work_dir / file : file;
}

class TransferAction final : public actions::Action {
 public:
  TransferAction() {
    m_info.name = "transfer";
    m_info.description = "verified, resumable file transfer between endpoints (checksums, chunked, atomic)";
    m_info.input_schema = Json{
        {"type", "object"},
        {"required", {"source_endpoint", "destination_endpoint", "transfer_items"}},
        {"properties",
         {{"endpoints", {{"type", "string"}, {"description", "endpoints file"}}},
          {"source_endpoint", {{"type", "string"}}},
          {"destination_endpoint", {{"type", "string"}}},
          {"transfer_items", {{"type", "array"}}},
          {"sync_level", {{"enum", {"exists", "size", "mtime", "checksum", 0, 1, 2, 3}}}},
          {"verify_checksum", {{"type", "boolean"}, {"default", true}}},
          {"preserve_timestamp", {{"type", "boolean"}, {"default", false}}},
          {"delete_destination_extra", {{"type", "boolean"}, {"default", false}}},
          {"submission_id", {{"type", "string"}}},
          {"filter_rules", {{"type", "array"}}},
          {"checksum_algorithm", {{"enum", {"xxh128", "sha256"}}}},
          {"chunk_size", {{"type", "integer"}, {"minimum", 4096}}}}}};
    m_info.synchronous = true;
    m_info.side_effects = true;
  }

  const actions::ActionInfo& info() const override { return m_info; }

  // A transfer can take hours: under the driver it runs as a supervised child
  // process (`beamflow __action transfer STATE_DIR`), off the driver's thread;
  // there run() below keeps its state in STATE_DIR/child. A direct run()
  // still runs here.
  actions::Placement placement(const actions::ActionRequest&) const override {
    actions::Placement p;
    p.own_process = true;
    p.no_outcome = {"action.child_failed", "States.TaskFailed", "beamflow __action transfer"};
    return p;
  }

  actions::ActionState run(const actions::ActionRequest& request) override {
    if (auto done = actions::durable::load_result(request.state_dir, request.action_id)) return *done;
    static std::mutex one_at_a_time;
    const std::lock_guard lock(one_at_a_time);
    actions::ActionState state;
    try {
      Json input = request.input.is_object() ? request.input : Json();
      const auto file = endpoints_file(input, request);
      input.erase("endpoints");
      const TransferRequest transfer = parse_request(input);
      const Endpoints endpoints = Endpoints::load(file);
      TransferOptions options;
      options.state_dir = request.state_dir / "manifest";
      // One rank, no MPI: a direct run() may be on a pilot worker rank, whose
      // MPI_COMM_WORLD is the pilot's.
      Json summary = run_transfer(transfer, endpoints, parallel::Comm::serial(), options).document;
      state = actions::ActionState::succeeded(request.action_id, std::move(summary));
    } catch (const Error& e) {
      if (is_usage_error(e)) return actions::invalid_input(request, m_info.name, e.what());
      state = actions::ActionState::failed(request.action_id, e.asl_name(), e.what());
    }
    return actions::durable::save_result(request.state_dir, state);
  }

  actions::ActionState status(const actions::ActionRequest& request) override { return run(request); }

  actions::ActionState cancel(const actions::ActionRequest& request) override {
    return actions::ActionState::failed(request.action_id, "Action.Cancelled",
                                        "transfer is synchronous: nothing was in flight");
  }

 private:
  actions::ActionInfo m_info;
};

}  // namespace

void register_transfer_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<TransferAction>());
}

}  // namespace beamflow::transfer
