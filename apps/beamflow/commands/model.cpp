// beamflow model publish / list / search / describe / run: the model hub
// (jobs/models). Every verb takes --repo DIR (default $BEAMFLOW_MODEL_REPO,
// else $BEAMFLOW_HOME/models); list, search, describe and publish print a
// table for people or JSON with --json; run always prints JSON, and under
// mpirun shares an HDF5 input's rows among the ranks.
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "jobs/models/cache.hpp"
#include "jobs/models/errors.hpp"
#include "jobs/models/inference.hpp"
#include "jobs/models/repository.hpp"
#include "parallel/runtime.hpp"
#include "platform/launcher.hpp"

namespace beamflow::cli {
namespace {

using models::Repository;

void add_repo_option(po::options_description& o) {
  o.add_options()("repo", po::value<std::string>(),
                  "model repository directory (default: $BEAMFLOW_MODEL_REPO, else $BEAMFLOW_HOME/models)")(
      "json", "print JSON");
}

Repository repository(const po::variables_map& vm) {
  return Repository::open(vm.count("repo") ? std::optional(vm["repo"].as<std::string>()) : std::nullopt);
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

void print_table(const std::vector<models::ModelSummary>& rows) {
  std::cout << std::left << std::setw(24) << "NAME" << std::setw(12) << "VERSION" << std::setw(14) << "FORMAT"
            << std::setw(11) << "VISIBILITY"
            << "TITLE\n";
  for (const auto& s : rows)
    std::cout << std::setw(24) << s.name << std::setw(12) << s.version << std::setw(14) << s.format
              << std::setw(11) << (s.is_public ? "public" : "private") << s.title << "\n";
}

int publish_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("path", po::value<std::string>()->required(),
                  "model file, or a directory with a model and metadata.json")(
      "meta", po::value<std::string>(), "metadata JSON file (instead of PATH/metadata.json)")(
      "name", po::value<std::string>(), "model name (enough metadata for a private model)")(
      "version", po::value<std::string>(), "semantic version (default: the metadata's, else 1.0.0)");
  add_repo_option(o);
  po::positional_options_description pos;
  pos.add("path", 1);
  po::variables_map vm;
  const Output out("model publish", args);
  if (!out.parse("PATH [--meta META.json] [--name NAME] [--version V] [--repo DIR] [--json]", o, pos, args, vm))
    return kExitOk;
  models::PublishRequest request;
  request.source = vm["path"].as<std::string>();
  if (vm.count("meta")) request.metadata = load_json_file(vm["meta"].as<std::string>(), "model metadata");
  if (vm.count("name")) request.name = vm["name"].as<std::string>();
  if (vm.count("version")) request.version = vm["version"].as<std::string>();
  models::ensure_kokkos();
  const auto record = repository(vm).publish(request);
  out.result({{"model", record.ref()}, {"directory", record.dir.string()}}, [&](std::ostream& os) {
    os << "published " << record.ref() << " in " << record.dir.string() << "\n";
  });
  return kExitOk;
}

int list_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  add_repo_option(o);
  po::variables_map vm;
  const Output out("model list", args);
  if (!out.parse("[--repo DIR] [--json]", o, {}, args, vm)) return kExitOk;
  const Repository repo = repository(vm);
  std::vector<models::ModelSummary> rows;
  Json doc = Json::array();
  for (const auto& r : repo.list()) {
    try {
      rows.push_back(models::ModelSummary::of(repo.read_metadata(r)));
      doc.push_back(rows.back().to_json());
    } catch (const Error& e) {
      out.progress("skipping " + r.ref() + ": " + e.what());
    }
  }
  out.result(doc, [&](std::ostream&) { print_table(rows); });
  return kExitOk;
}

int search_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("query", po::value<std::vector<std::string>>()->multitoken(),
                  "words to find in title, description, authors, domains and name (all must occur)")(
      "domain", po::value<std::string>(), "only models of this domain")(
      "input-type", po::value<std::string>(),
      "only models whose input type mentions this (ndarray, float32, Composition)")(
      "format", po::value<std::string>(), "only models of this format (forest-hdf5, onnx)");
  add_repo_option(o);
  po::positional_options_description pos;
  pos.add("query", -1);
  po::variables_map vm;
  const Output out("model search", args);
  if (!out.parse("[QUERY...] [--domain D] [--input-type T] [--format F] [--repo DIR] [--json]", o, pos, args, vm))
    return kExitOk;
  models::SearchQuery q;
  if (vm.count("query")) {
    for (const auto& w : vm["query"].as<std::vector<std::string>>()) q.text += w + " ";
  }
  if (vm.count("domain")) q.domain = vm["domain"].as<std::string>();
  if (vm.count("input-type")) q.input_type = vm["input-type"].as<std::string>();
  if (vm.count("format")) q.format = vm["format"].as<std::string>();
  const auto found = repository(vm).search(q);
  Json doc = Json::array();
  for (const auto& s : found) doc.push_back(s.to_json());
  out.result(doc, [&](std::ostream&) { print_table(found); });
  return kExitOk;
}

std::string spec_text(const Json& spec) {
  if (!spec.is_object()) return "-";
  std::string s = spec.value("type", "");
  if (spec.contains("dtype")) s += " " + spec["dtype"].get<std::string>();
  if (spec.contains("item_type"))
    s += " of " + spec["item_type"].value("python_type", spec["item_type"].value("type", ""));
  if (spec.contains("shape")) s += " " + spec["shape"].dump();
  if (spec.contains("labels")) s += " labels " + joined(spec["labels"].get<std::vector<std::string>>());
  return s;
}

int describe_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("model", po::value<std::string>()->required(), "NAME or NAME@VERSION");
  add_repo_option(o);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  const Output out("model describe", args);
  if (!out.parse("NAME[@VERSION] [--repo DIR] [--json]", o, pos, args, vm)) return kExitOk;
  models::ensure_kokkos();
  const auto model = repository(vm).load(models::ModelRef::parse(vm["model"].as<std::string>()));
  const Json& meta = model->metadata();
  Json runtime = model->runtime().describe();
  Json doc = {{"model", model->ref()}, {"directory", model->dir().string()}, {"metadata", meta}, {"runtime", runtime}};
  if (model->preprocessor()) doc["preprocessing"] = model->preprocessor()->describe();
  out.result(
      doc,
      [&](std::ostream& os) {
        const auto s = models::ModelSummary::of(meta);
        os << model->ref() << "  (" << s.format << ", " << (s.is_public ? "public" : "private") << ")\n"
           << "title:        " << s.title << "\n"
           << "description:  " << s.description << "\n"
           << "authors:      " << joined(s.authors) << "\n"
           << "domains:      " << joined(s.domains) << "\n";
        if (s.doi) os << "DOI:          " << *s.doi << "\n";
        if (meta["datacite"].contains("relatedIdentifiers"))
          for (const auto& r : meta["datacite"]["relatedIdentifiers"])
            os << "related:      " << r.value("relationType", "") << " " << r.value("relatedIdentifier", "") << "\n";
        const Json& run = meta["/servable/methods/run"_json_pointer];
        os << "input:        " << spec_text(run.value("input", Json())) << "\n"
           << "output:       " << spec_text(run.value("output", Json())) << "\n";
        if (model->preprocessor())
          os << "preprocessing: " << model->preprocessor()->describe().dump() << "\n";
        os << "runtime:      " << runtime.dump() << "\n";
        for (const auto& [file, hash] : meta["beamflow"]["files"].items())
          os << "file:         " << file << "  sha256 " << hash.get<std::string>() << "\n";
        os << "validation:   " << meta["beamflow"].value("validation", Json::array()).size()
           << " vector(s), passed at publish\n"
           << "directory:    " << model->dir().string() << "\n";
      },
      1);
  return kExitOk;
}

int run_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("model", po::value<std::string>()->required(),
                  "NAME or NAME@VERSION (latest version when omitted)")(
      "input", po::value<std::string>()->required(),
      "JSON file: {\"inputs\": nested array, batch first} or {\"file\": F.h5, \"dataset\": D} ('-' for "
      "stdin)")("output", po::value<std::string>(),
                "write the outputs to this new HDF5 file instead of printing them")(
      "dataset", po::value<std::string>()->default_value("/outputs"), "dataset name in --output")(
      "overwrite", "replace an existing --output file (never the input)")(
      "block-rows", po::value<std::int64_t>()->default_value(65536),
      "rows per kernel call when reading HDF5")(
      "repo", po::value<std::string>(),
      "model repository directory (default: $BEAMFLOW_MODEL_REPO, else $BEAMFLOW_HOME/models)")(
      "json", "errors as JSON too (the result is always JSON)");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  Output out("model run", args);
  if (!out.parse("NAME[@VERSION] --input IN.json [--output OUT.h5] [--repo DIR]", o, pos, args, vm)) return kExitOk;
  const Json doc = load_json_file(vm["input"].as<std::string>(), "model input");
  const Json inputs = doc.is_object() && doc.contains("inputs") ? doc["inputs"] : doc;
  if (doc.is_object() && doc.contains("inputs") && doc.size() != 1)
    throw models::input_error("model.input.document", "the input document has fields besides \"inputs\"");
  Json output;
  if (vm.count("output"))
    output = {{"file", vm["output"].as<std::string>()}, {"dataset", vm["dataset"].as<std::string>()}};
  if (vm.count("output") && vm.count("overwrite")) output["overwrite"] = true;
  auto request = models::InferenceRequest::from_json(inputs, output, std::filesystem::current_path(),
                                                     doc.contains("inputs") ? "/inputs" : "");
  request.block_rows = vm["block-rows"].as<std::int64_t>();
  // Under mpirun each rank evaluates a block of an HDF5 input's rows.
  // Kokkos first, so that it outlives the cached model (the runtime below
  // finalises only what it initialised).
  models::ensure_kokkos();
  std::optional<parallel::ParallelRuntime> mpi;
  if (platform::launch_info().size > 1) mpi.emplace();
  const bool root = !mpi || mpi->world().is_root();
  out.speaks(root).prints_results(root);
  return out.run([&] {
    const auto model = models::process_model_cache().get(
        repository(vm), models::ModelRef::parse(vm["model"].as<std::string>()));
    const Json result = models::run_request(*model, request, mpi ? &mpi->world() : nullptr);
    out.result(result, [&](std::ostream& os) { os << result.dump() << std::endl; });
    return kExitOk;
  });
}

const std::map<std::string, std::pair<const char*, int (*)(const std::vector<std::string>&)>>& verbs() {
  static const std::map<std::string, std::pair<const char*, int (*)(const std::vector<std::string>&)>> v = {
      {"publish", {"check, validate and store a model (immutable per version)", publish_main}},
      {"list", {"list the published models and versions", list_main}},
      {"search", {"find models by words, domain, input type or format", search_main}},
      {"describe", {"show a model's metadata, signature and files (checks its sha256)", describe_main}},
      {"run", {"run a model on JSON or HDF5 inputs", run_main}},
  };
  return v;
}

int model_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout)
        << "Usage: beamflow model VERB [OPTIONS]   (beamflow model VERB --help)\n\nVerbs:\n";
    for (const auto& [name, verb] : verbs())
      (args.empty() ? std::cerr : std::cout)
          << "  " << std::left << std::setw(10) << name << verb.first << "\n";
    return args.empty() ? kExitUsage : kExitOk;
  }
  const auto it = verbs().find(args[0]);
  if (it == verbs().end()) {
    std::cerr << "beamflow model: unknown verb '" << args[0] << "' (publish, list, search, describe, run)\n";
    return kExitUsage;
  }
  return it->second.second(std::vector<std::string>(args.begin() + 1, args.end()));
}

const Registrar model_cmd{{"model", "publish, list, search, describe and run ML models", model_main}};

}  // namespace
}  // namespace beamflow::cli
