#pragma once
// What a subcommand prints, behind one interface: its result and its errors,
// in the human form, the --json form (exactly one JSON document on stdout,
// errors included) and the quiet form (--quiet: no progress lines); and the
// one rule that turns an error into the exit code (0 ok, 1 failed, 2 usage
// or invalid). See docs/architecture.md.
//
//   int foo_main(const std::vector<std::string>& args) {
//     const Output out("foo", args);
//     po::variables_map vm;
//     if (!out.parse(synopsis, options, positional, args, vm)) return kExitOk;  // --help
//     ...
//     out.result(summary.to_json(), [&](std::ostream& o) { o << "wrote " << ...; });
//     return kExitOk;
//   }
//
// An error a command throws reaches main(), which reports it with the same
// Output (the command's name, its --json). A command whose errors look
// different (run's {"status": "INVALID"}, every MPI rank's JSON error of
// recon) sets error_form()/speaks() and wraps its body in out.run().
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "apps/beamflow/subcommand.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace beamflow::cli {

// The one exit-code policy. A usage error is the caller's mistake: bad
// options, a flow or input document that is missing, unreadable or not
// valid JSON, an invalid definition, a bad run id, an input over the payload
// limit, tomo.usage.*, an ambiguous approval. Every other error is a failure.
bool is_usage_error(const Error& e);
int exit_code(const Error& e);  // kExitUsage or kExitFailed

// {"error": id, "asl_name", "message", "context": {...}}: an error as JSON
// (what `recon --json` prints, and what the reconstruct action reads back
// from `mpirun beamflow recon`).
Json error_json(const Error& e);

// Compact JSON for output: invalid UTF-8 in a string is replaced, never
// thrown (an error message may quote the bytes of a bad file).
std::string dump(const Json& doc, int indent = -1);

class Output {
 public:
  // How an error looks in this command: under --json its document on stdout
  // (default error_json), else its human form on stderr (default "beamflow
  // COMMAND: [id] message (context)").
  struct ErrorForm {
    std::function<Json(const Error&)> document;
    std::function<void(std::ostream&, const Error&)> human;
  };

  // The form is read from `args` (the tokens --json, --quiet, -q), so that
  // an error met while parsing them is already reported in that form.
  Output(std::string command, const std::vector<std::string>& args);

  const std::string& command() const noexcept { return m_command; }
  bool json() const noexcept { return m_json; }
  bool quiet() const noexcept { return m_quiet; }

  // Commands whose JSON form is the only form (find-center, model run).
  Output& always_json() {
    m_json = true;
    return *this;
  }
  Output& error_form(ErrorForm form);
  // Whether this process prints human lines (errors, progress): under
  // mpirun only rank 0 does; every rank prints the JSON error.
  Output& speaks(bool yes) {
    m_speaks = yes;
    return *this;
  }
  // Errors also in the human form on stderr under --json (for people
  // watching an MPI job whose JSON a program reads).
  Output& human_errors_too() {
    m_human_errors_too = true;
    return *this;
  }
  // Whether this process prints results (the root rank).
  Output& prints_results(bool yes) {
    m_prints_results = yes;
    return *this;
  }
  // Whether this process prints the --json error document. Every rank does
  // by default (recon: a program reads whichever rank's line mpirun shows);
  // a command whose errors are agreed across ranks prints it on the root only.
  Output& prints_error_documents(bool yes) {
    m_error_documents = yes;
    return *this;
  }

  // Parses `args` (help handled uniformly): false after printing --help; a
  // bad option throws cli.usage.
  bool parse(const std::string& synopsis, const po::options_description& options,
             const po::positional_options_description& positional, const std::vector<std::string>& args,
             po::variables_map& vm) const;

  // The result: `doc` under --json (indented by `indent`, -1 compact), else
  // what `human` writes on stdout.
  void result(const Json& doc, const std::function<void(std::ostream&)>& human, int indent = -1) const;
  // A progress or warning line on stderr ("beamflow COMMAND: line"), unless
  // quiet.
  void progress(const std::string& line) const;

  // Reports `e` in this command's form; returns its exit code.
  int error(const Error& e) const;
  // Runs `body`, reporting whatever it throws (a typed error; anything else
  // as cli.internal) and returning the exit code.
  int run(const std::function<int()>& body) const;

 private:
  std::string m_command;
  bool m_json = false;
  bool m_quiet = false;
  bool m_speaks = true;
  bool m_prints_results = true;
  bool m_human_errors_too = false;
  bool m_error_documents = true;
  ErrorForm m_form;
};

}  // namespace beamflow::cli
