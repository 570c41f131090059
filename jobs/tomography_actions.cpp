#include "jobs/tomography_actions.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "actions/durable.hpp"
#include "actions/input_spec.hpp"
#include "jobs/errors.hpp"
#include "jobs/requests.hpp"
#include "jobs/runtime.hpp"

namespace beamflow::jobs {

namespace {

std::mutex& job_mutex() {
  static std::mutex m;
  return m;
}

// One rank in this process: MPI and Kokkos initialised once, kept till exit.
Comm self() {
  ParallelRuntime::process();
  return Comm(MPI_COMM_SELF);
}

template <class O>
class TomographyAction : public actions::Action {
 public:
  using Body = std::function<Json(const O&, const Json& request, const actions::ActionRequest&)>;
  TomographyAction(std::string name, std::string description, const std::vector<Field<O>>& fields,
                   Body body, Json extra_properties = Json::object())
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
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_array())
      for (const auto& v : value) text += (text.empty() ? "" : ",") + v.dump();
    else text = value.dump();
    args.push_back(option);
    args.push_back(text);
  }
  return args;
}

// Runs `mpirun -np ranks <self> recon ...` in `work_dir`; its JSON summary.
Json run_with_mpirun(const Json& request, std::int64_t ranks, const std::filesystem::path& work_dir) {
  char self_exe[4096];
  const ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (n <= 0) throw Error("tomo.action.spawn", tomo_asl::Usage, "cannot find this executable");
  self_exe[n] = '\0';
  const char* launcher = std::getenv("BEAMFLOW_MPIEXEC");
  std::vector<std::string> argv{launcher ? launcher : "mpiexec", "-np", std::to_string(ranks), self_exe};
  for (auto& a : recon_arguments(request)) argv.push_back(std::move(a));
  int out[2];
  if (pipe(out) != 0) throw Error("tomo.action.spawn", tomo_asl::Kernel, "cannot create a pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (!work_dir.empty() && chdir(work_dir.c_str()) != 0) _exit(127);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t got; (got = read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, std::size_t(got));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (code != 0)
    throw Error("tomo.action.ranks_failed", tomo_asl::Kernel,
                "mpirun -np " + std::to_string(ranks) + " beamflow recon exited with " + std::to_string(code) +
                    " (its error is on the engine's stderr)");
  // rank 0 prints the summary as the last line
  while (!text.empty() && text.back() == '\n') text.pop_back();
  try {
    return Json::parse(text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1));
  } catch (const std::exception&) {
    throw Error("tomo.action.ranks_failed", tomo_asl::Kernel, "mpirun's recon printed no JSON summary");
  }
}

}  // namespace

void register_tomography_actions(actions::ActionRegistry& registry) {
  registry.add(std::make_shared<TomographyAction<ReconOptions>>(
      "reconstruct", "reconstruct tomography slices from a Data Exchange file (resumable)", recon_fields(),
      [](const ReconOptions& options, const Json& input, const actions::ActionRequest& request) {
        const std::int64_t ranks = input.value("ranks", std::int64_t{1});
        if (ranks < 1 || ranks > 4096) throw usage_error("ranks", "ranks must be 1..4096");
        if (ranks > 1) return run_with_mpirun(input, ranks, request.work_dir);
        return reconstruct(options, self()).to_json();
      },
      Json{{"ranks",
            {{"type", "integer"}, {"default", 1}, {"description", "MPI ranks; > 1 runs mpirun beamflow recon"}}}}));
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
