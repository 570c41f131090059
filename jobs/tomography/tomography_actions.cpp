#include "jobs/tomography/tomography_actions.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>

#include "actions/durable.hpp"
#include "actions/input_spec.hpp"
#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/requests.hpp"
#include "parallel/runtime.hpp"

namespace beamflow::jobs {

namespace {

std::mutex& job_mutex() {
  static std::mutex m;
  return m;
}

// One rank in this process: MPI and Kokkos initialised once, kept till exit.
parallel::Comm self() {
  parallel::ParallelRuntime::process();
  return parallel::Comm(MPI_COMM_SELF);
}

template <class O>
class TomographyAction : public actions::Action {
 public:
  using Body = std::function<Json(const O&, const Json& request, const actions::ActionRequest&)>;
  TomographyAction(std::string name, std::string description, const std::vector<Field<O>>& fields, Body body,
                   Json extra_properties = Json::object())
      : m_fields(fields), m_body(std::move(body)), m_extra(std::move(extra_properties)) {
    m_info.name = std::move(name);
    m_info.description = std::move(description);
    m_info.input_schema = input_schema(fields);
    for (const auto& [key, value] : m_extra.items()) m_info.input_schema["properties"][key] = value;
    m_info.synchronous = true;
    m_info.side_effects = true;
  }

  const actions::ActionInfo& info() const override { return m_info; }

  actions::ActionState run(const actions::ActionRequest& request) override {
    if (auto done = actions::durable::load_result(request.state_dir, request.action_id)) return *done;
    const std::lock_guard lock(job_mutex());
    actions::ActionState state;
    try {
      Json job_request = request.input.is_object() ? request.input : Json();
      for (const auto& [key, value] : m_extra.items()) job_request.erase(key);
      const O options = options_from_json(m_fields, job_request, request.work_dir);
      state = actions::ActionState::succeeded(request.action_id, m_body(options, request.input, request));
    } catch (const Error& e) {
      if (is_usage_error(e)) return actions::invalid_input(request, m_info.name, e.what());
      state = actions::ActionState::failed(request.action_id, e.asl_name(), e.what());
    }
    return actions::durable::save_result(request.state_dir, state);
  }

  actions::ActionState status(const actions::ActionRequest& request) override { return run(request); }

  actions::ActionState cancel(const actions::ActionRequest& request) override {
    return actions::ActionState::failed(request.action_id, "Action.Cancelled",
                                        m_info.name + " is synchronous: nothing was in flight");
  }

 private:
  std::vector<Field<O>> m_fields;
  Body m_body;
  Json m_extra;
  actions::ActionInfo m_info;
};

// argv for `beamflow recon` with the request's options.
std::vector<std::string> recon_arguments(const Json& request) {
  std::vector<std::string> args{"recon", "--json", "--quiet"};
  for (const auto& [key, value] : request.items()) {
    if (key == "ranks") continue;
    std::string option = "--" + key;
    for (char& c : option)
      if (c == '_') c = '-';
    if (value.is_boolean()) {
      if (value.get<bool>()) args.push_back(option);
      continue;
    }
    std::string text;
    if (value.is_string())
      text = value.get<std::string>();
    else if (value.is_array())
      for (const auto& v : value) text += (text.empty() ? "" : ",") + v.dump();
    else
      text = value.dump();
    args.push_back(option);
    args.push_back(text);
  }
  return args;
}

// The executable to run under mpirun: $BEAMFLOW_EXE, else this process's.
std::string beamflow_executable() {
  if (const char* exe = std::getenv("BEAMFLOW_EXE")) return exe;
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

// Runs `$BEAMFLOW_MPIEXEC -np ranks beamflow recon ...` in `work_dir`, its
// stdout and stderr in `state_dir`; returns its JSON summary.
Json run_with_mpirun(const Json& request, std::int64_t ranks, const actions::ActionRequest& action) {
  const char* launcher = std::getenv("BEAMFLOW_MPIEXEC");
  std::vector<std::string> argv{launcher ? launcher : "mpiexec", "-np", std::to_string(ranks),
                                beamflow_executable()};
  for (auto& a : recon_arguments(request)) argv.push_back(std::move(a));
  const auto out_file = action.state_dir / "recon.stdout", err_file = action.state_dir / "recon.stderr";
  auto failed = [&](const std::string& why) {
    return Error("tomo.action.ranks_failed", tomo_asl::Kernel,
                 "mpirun -np " + std::to_string(ranks) + " beamflow recon " + why,
                 {{"stderr", err_file.string()}});
  };
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw failed("could not be started: fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) _exit(126);
    if (!action.work_dir.empty() && chdir(action.work_dir.c_str()) != 0) _exit(126);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Rank 0 prints the summary, or the error, as the last line.
  Json last;
  try {
    last = Json::parse(last_line(slurp(out_file)));
  } catch (const std::exception&) {
    throw failed("exited with " + std::to_string(code) + " and no JSON: " + last_line(slurp(err_file)));
  }
  if (code == 0 && !last.contains("error")) return last;
  if (last.contains("error") && last.contains("asl_name")) {
    Error::Context context;
    const Json fields = last.value("context", Json::object());
    for (const auto& [key, value] : fields.items())
      context.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
    throw Error(last["error"].get<std::string>(), last["asl_name"].get<std::string>(),
                last.value("message", std::string()), std::move(context));
  }
  throw failed("exited with " + std::to_string(code));
}

}  // namespace

void register_tomography_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<TomographyAction<ReconOptions>>(
      "reconstruct", "reconstruct tomography slices from a Data Exchange file (resumable)", recon_fields(),
      [](const ReconOptions& options, const Json& input, const actions::ActionRequest& request) {
        const Json ranks_field = input.value("ranks", Json(1));
        if (!ranks_field.is_number_integer() || ranks_field.get<std::int64_t>() < 1 ||
            ranks_field.get<std::int64_t>() > 4096)
          throw usage_error("ranks", "ranks must be an integer 1..4096");
        const std::int64_t ranks = ranks_field.get<std::int64_t>();
        if (ranks > 1) return run_with_mpirun(input, ranks, request);
        return reconstruct(options, self()).to_json();
      },
      Json{{"ranks",
            {{"type", "integer"},
             {"default", 1},
             {"description", "MPI ranks; > 1 runs mpirun beamflow recon"}}}}));
  registry.add(std::make_shared<TomographyAction<FindCenterOptions>>(
      "find_center", "find the rotation centre of a Data Exchange file", find_center_fields(),
      [](const FindCenterOptions& options, const Json&, const actions::ActionRequest&) {
        return find_center(options, self()).to_json();
      }));
  registry.add(std::make_shared<TomographyAction<PreviewOptions>>(
      "preview", "PNG previews of reconstructed slices", preview_fields(),
      [](const PreviewOptions& options, const Json&, const actions::ActionRequest&) {
        return write_previews(options).to_json();
      }));
}

}  // namespace beamflow::jobs
