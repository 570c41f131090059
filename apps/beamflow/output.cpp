#include "apps/beamflow/output.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "jobs/tomography/errors.hpp"
#include "jobs/transfer/errors.hpp"

namespace beamflow::cli {

bool is_usage_error(const Error& e) {
  // The engine's usage errors (docs/errors.md says which exit with 2) ...
  static constexpr std::string_view kUsageIds[] = {"lang.definition.invalid", "run.bad_id",
                                                    "run.input_too_large", "approve.ambiguous",
                                                    "trigger.registration.invalid"};
  const std::string_view id = e.id();
  if (id.substr(0, 4) == "cli." || std::find(std::begin(kUsageIds), std::end(kUsageIds), id) != std::end(kUsageIds))
    return true;
  // ... and each job family's (the same ids are Action.InvalidInput in a flow).
  return jobs::is_usage_error(e) || transfer::is_usage_error(e);
}

int exit_code(const Error& e) { return is_usage_error(e) ? kExitUsage : kExitFailed; }

Json error_json(const Error& e) {
  Json context = Json::object();
  for (const auto& [key, value] : e.context()) context[key] = value;
  return {{"error", e.id()}, {"asl_name", e.asl_name()}, {"message", e.message()}, {"context", context}};
}

std::string dump(const Json& doc, int indent) {
  return doc.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Output::Output(std::string command, const std::vector<std::string>& args) : m_command(std::move(command)) {
  for (const auto& a : args) {
    if (a == "--json") m_json = true;
    if (a == "--quiet" || a == "-q") m_quiet = true;
  }
}

Output& Output::error_form(ErrorForm form) {
  if (form.document) m_form.document = std::move(form.document);
  if (form.human) m_form.human = std::move(form.human);
  return *this;
}

bool Output::parse(const std::string& synopsis, const po::options_description& options,
                   const po::positional_options_description& positional, const std::vector<std::string>& args,
                   po::variables_map& vm) const {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: beamflow " << m_command << " " << synopsis << "\n\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error("cli.usage", states_error::Runtime,
                std::string(e.what()) + "; try 'beamflow " + m_command + " --help'");
  }
  return true;
}

void Output::result(const Json& doc, const std::function<void(std::ostream&)>& human, int indent) const {
  if (!m_prints_results) return;
  if (m_json)
    std::cout << dump(doc, indent) << std::endl;
  else
    human(std::cout);
}

void Output::progress(const std::string& line) const {
  if (m_quiet || !m_speaks) return;
  // One write of the whole line: std::cerr is unbuffered, so each << was a
  // write(2) of its own (five a line), and the pilot's driver threads, which
  // log at once, interleaved their pieces ("beamflow pilotbeamflow pilot: ").
  std::string text;
  text.reserve(m_command.size() + line.size() + 12);
  text.append("beamflow ").append(m_command).append(": ").append(line).push_back('\n');
  std::cerr.write(text.data(), static_cast<std::streamsize>(text.size())).flush();
}

int Output::error(const Error& e) const {
  if (m_speaks && (!m_json || m_human_errors_too)) {
    if (m_form.human)
      m_form.human(std::cerr, e);
    else
      std::cerr << "beamflow " << m_command << ": " << e.what() << "\n";
  }
  if (m_json && m_error_documents) std::cout << dump(m_form.document ? m_form.document(e) : error_json(e)) << std::endl;
  return exit_code(e);
}

int Output::run(const std::function<int()>& body) const {
  try {
    return body();
  } catch (const Error& e) {
    return error(e);
  } catch (const std::exception& e) {
    return error(Error("cli.internal", states_error::Runtime, std::string("internal error: ") + e.what()));
  }
}

}  // namespace beamflow::cli
