// provenance: writes a JSON record of how results were made (inputs and
// results with their SHA-256, every parameter, the centre and who approved
// it, software version, host, user, ranks, timings per step) next to the
// results. Generic: it reads only files and the values a flow hands it.
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <vector>

#include "actions/builtin_action.hpp"
#include "actions/builtins.hpp"
#include "actions/durable.hpp"
#include "core/time.hpp"
#include "platform/checksum.hpp"
#include "platform/output_file.hpp"

namespace beamflow::actions {
namespace {
namespace fsys = std::filesystem;

std::string host_name() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "unknown";
}

std::string user_name() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid:" + std::to_string(::geteuid());
}

fsys::path resolve(const ActionRequest& r, const std::string& p) {
  const fsys::path path(p);
  return path.is_absolute() || r.work_dir.empty() ? path : r.work_dir / path;
}

// Paths: strings, or arrays of strings (flattened), so that a flow can pass
// States.Array($.volume, $.previews.files) as it is. Empty when malformed.
std::optional<std::vector<std::string>> flat_paths(const Json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return std::nullopt;
  for (const auto& item : v) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_array()) {
      for (const auto& inner : item) {
        if (!inner.is_string()) return std::nullopt;
        out.push_back(inner.get<std::string>());
      }
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// {"name", "path" (as given), "size", "sha256"} of each file.
Json checksummed(const ActionRequest& r, const std::vector<std::string>& paths) {
  Json out = Json::array();
  for (const std::string& p : paths) {
    const fsys::path file = resolve(r, p);
    std::string sha256 = platform::sha256_file(file);  // fs.read when missing or unreadable
    std::error_code ec;
    const auto size = fsys::file_size(file, ec);
    out.push_back({{"name", file.filename().string()},
                   {"path", p},
                   {"size", ec ? 0 : static_cast<std::uint64_t>(size)},
                   {"sha256", std::move(sha256)}});
  }
  return out;
}

class ProvenanceAction final : public BuiltinAction {
 public:
  ProvenanceAction()
      : BuiltinAction(
            "provenance",
            "Writes a provenance record (JSON) to `output`: inputs and results with size and SHA-256, "
            "parameters, centre, approval, steps with their timings, ranks, software version, host and user. "
            "Succeeds with {output, sha256, inputs, results}.",
            Timing::Synchronous, Effects::Observable,
            InputSpec({Field::of(FieldType::Path, "output", "the record's path (relative: to the run's directory)")
                           .mandatory(),
                       Field::of(FieldType::Any, "inputs",
                                 "files the results were made from: strings, or arrays of strings (flattened)"),
                       Field::of(FieldType::Any, "results", "files made: strings, or arrays of strings (flattened)"),
                       Field::of(FieldType::Any, "parameters", "every parameter of the analysis"),
                       Field::of(FieldType::Any, "center", "the rotation centre used and how it was found"),
                       Field::of(FieldType::Any, "approval", "who approved (the approve step's result), or null"),
                       Field::of(FieldType::Any, "steps",
                                 "each step's result by name; its \"seconds\" (or \"timing\".\"seconds\") is its timing"),
                       Field::of(FieldType::Integer, "ranks", "MPI ranks of the analysis").at_least(1),
                       Field::of(FieldType::Boolean, "overwrite", "replace an existing record")})) {}

  // Checksums of large volumes take a while: a process of its own under the
  // driver (docs/architecture.md, "The driver").
  Placement placement(const ActionRequest&) const override {
    Placement p;
    p.own_process = true;
    p.no_outcome = {"action.child_failed", "States.TaskFailed", "beamflow __action provenance"};
    return p;
  }

  ActionState run(const ActionRequest& r) override {
    return checked(r, [&] {
      if (auto done = durable::load_result(r.state_dir, r.action_id)) return *done;
      const Json& in = r.input;
      const auto inputs = flat_paths(in.value("inputs", Json::array()));
      const auto results = flat_paths(in.value("results", Json::array()));
      if (!inputs || !results)
        return invalid_input(r, "provenance", "'inputs' and 'results' are arrays of paths (or of arrays of paths)");
      Json record{{"record", "beamflow.provenance/1"},
                  {"created_at", format_time_ms(now_ms())},
                  {"software", {{"name", "beamflow"}, {"version", BEAMFLOW_VERSION}}},
                  {"host", host_name()},
                  {"user", user_name()},
                  {"run_id", r.run_id},
                  {"ranks", in.value("ranks", 1)},
                  {"inputs", checksummed(r, *inputs)},
                  {"results", checksummed(r, *results)},
                  {"parameters", in.value("parameters", Json::object())},
                  {"center", in.value("center", Json())},
                  {"approval", in.value("approval", Json())},
                  {"steps", in.value("steps", Json::object())},
                  {"timings", Json::object()}};
      double total = 0;
      for (const auto& [name, step] : record["steps"].items()) {
        // "seconds" (transfer, find_center) or "timing": {"seconds"} (reconstruct).
        const Json* holder = step.is_object() && step.contains("timing") ? &step["timing"] : &step;
        if (holder->is_object() && holder->contains("seconds") && (*holder)["seconds"].is_number()) {
          record["timings"][name] = (*holder)["seconds"];
          total += (*holder)["seconds"].get<double>();
        }
      }
      record["timings_total_seconds"] = total;
      const fsys::path output = resolve(r, in.at("output").get<std::string>());
      fs::OutputFile file(output, fs::OutputRule{in.value("overwrite", false), {}}, "provenance record");
      {
        std::ofstream o(file.temporary(), std::ios::binary);
        o << record.dump(2) << "\n";
        if (!o.flush()) throw Error("fs.write", states_error::Runtime, "cannot write the provenance record",
                                    {{"file", file.temporary().string()}});
      }
      file.commit();
      Json result{{"output", output.string()},
                  {"sha256", platform::sha256_file(output)},
                  {"inputs", record["inputs"].size()},
                  {"results", record["results"].size()}};
      return durable::save_result(r.state_dir, ActionState::succeeded(r.action_id, result));
    });
  }
  ActionState status(const ActionRequest& r) override { return run(r); }
  ActionState cancel(const ActionRequest& r) override {
    return cancelled(r, "provenance is synchronous: nothing was in flight");
  }
};

}  // namespace

std::shared_ptr<Action> make_provenance_action() { return std::make_shared<ProvenanceAction>(); }

}  // namespace beamflow::actions
