// beamflow dataset publish / verify / describe / versions / search /
// withdraw / approve / reject / pending / collection: data publication and
// discovery (jobs/catalog). Every verb takes --catalog LOCATION (default
// $BEAMFLOW_CATALOG, else sqlite:$BEAMFLOW_HOME/catalog.sqlite) and acts as
// the real user and groups of the process; --json prints the document
// (search: the Globus Search response).
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/beamflow/common.hpp"
#include "apps/beamflow/output.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/datasets.hpp"
#include "jobs/catalog/settings.hpp"

namespace beamflow::cli {
namespace {

using namespace beamflow::catalog;

void common_options(po::options_description& o) {
  o.add_options()("catalog", po::value<std::string>(), "catalog location (sqlite:PATH or postgresql://...)")(
      "storage", po::value<std::string>(), "storage root of published bags (default: $BEAMFLOW_DATASETS)")(
      "json", "print JSON");
}

struct Session {
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<Datasets> datasets;
};

Session open(const po::variables_map& vm) {
  Session s;
  s.catalog = open_catalog(vm.count("catalog") ? vm["catalog"].as<std::string>() : default_catalog_location());
  s.datasets = std::make_unique<Datasets>(*s.catalog, vm.count("storage") ? std::filesystem::path(vm["storage"].as<std::string>())
                                                                          : default_storage());
  s.datasets->notify_curators_in(default_notifications());
  return s;
}

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ','))
      if (!part.empty()) out.push_back(part);
  }
  return out;
}

// An entry: its document under --json, else a few lines for people.
void print_entry(const Output& out, const Entry& e) {
  out.result(
      entry_document(e),
      [&](std::ostream& o) {
        const Json& dc = e.content["dc"];
        o << e.identifier << " version " << e.version << " (" << to_string(e.status) << ")\n";
        if (dc.contains("titles")) o << "  title:      " << dc["titles"][0].value("title", "") << "\n";
        if (dc.contains("creators"))
          for (const auto& c : dc["creators"]) o << "  creator:    " << c.value("name", "") << "\n";
        if (!e.reason.empty()) o << "  reason:     " << e.reason << "\n";
        o << "  collection: " << e.collection << "\n  owner:      " << e.owner << "\n  files:      " << e.files
          << " (" << e.bytes << " bytes)\n";
        if (!e.location.empty()) o << "  location:   " << e.location << "\n";
      },
      2);
}

using Verb = std::function<int(const std::vector<std::string>&)>;

int publish_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("source", po::value<std::string>()->required(), "file or directory to publish")(
      "meta", po::value<std::string>()->required(), "metadata JSON: {\"dc\": DataCite, \"domain\": {...}}")(
      "collection", po::value<std::string>()->default_value("default"), "collection")(
      "visible-to", po::value<std::vector<std::string>>()->multitoken(),
      "public, user:NAME, group:NAME (comma-separated; default: only you)")(
      "identifier", po::value<std::string>(), "publish a new version of this identifier")(
      "no-extract", "do not read metadata from the files")(
      "in-place", "publish the data where it is: no copy; the bag holds the manifest and fetch.txt");
  common_options(o);
  po::positional_options_description pos;
  pos.add("source", 1);
  const Output out("dataset publish", args);
  po::variables_map vm;
  if (!out.parse("SOURCE --meta META.json [--collection C] [--visible-to P,...] [--identifier ID] [--in-place]", o, pos, args, vm))
    return kExitOk;
  PublishRequest r;
  r.source = vm["source"].as<std::string>();
  r.metadata = load_json_file(vm["meta"].as<std::string>(), "dataset metadata");
  r.collection = vm["collection"].as<std::string>();
  if (vm.count("visible-to")) r.visible_to = split_list(vm["visible-to"].as<std::vector<std::string>>());
  if (vm.count("identifier")) r.identifier = vm["identifier"].as<std::string>();
  r.extract = !vm.count("no-extract");
  r.in_place = vm.count("in-place") > 0;
  auto s = open(vm);
  const Entry e = s.datasets->publish(r, current_identity());
  out.result(
      entry_document(e),
      [&](std::ostream& o) {
        o << "published " << e.identifier << " version " << e.version << " (" << to_string(e.status) << ", "
          << e.files << " files, " << e.bytes << " bytes)\n";
      },
      2);
  return kExitOk;
}

// ID [--version N]
// False after --help.
bool id_options(const Output& out, const std::vector<std::string>& args, po::options_description& o,
                po::variables_map& vm, const std::string& extra = "") {
  o.add_options()("id", po::value<std::string>()->required(), "identifier (ark:/... or a DOI)")(
      "version", po::value<int>()->default_value(0), "version (default: the latest)");
  common_options(o);
  po::positional_options_description pos;
  pos.add("id", 1);
  return out.parse("ID [--version N]" + extra, o, pos, args, vm);
}

int describe_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  const Output out("dataset describe", args);
  po::variables_map vm;
  if (!id_options(out, args, o, vm)) return kExitOk;
  auto s = open(vm);
  print_entry(out, s.datasets->describe(vm["id"].as<std::string>(), vm["version"].as<int>(), current_identity()));
  return kExitOk;
}

int versions_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  const Output out("dataset versions", args);
  po::variables_map vm;
  if (!id_options(out, args, o, vm)) return kExitOk;
  auto s = open(vm);
  const auto entries = s.datasets->versions(vm["id"].as<std::string>(), current_identity());
  Json all = Json::array();
  for (const auto& e : entries) all.push_back(entry_document(e));
  out.result(
      all,
      [&](std::ostream& o) {
        for (const auto& e : entries)
          o << e.version << "  " << to_string(e.status) << "  " << format_time_ms(e.published_ms) << "\n";
      },
      2);
  return kExitOk;
}

int verify_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  const Output out("dataset verify", args);
  po::variables_map vm;
  if (!id_options(out, args, o, vm)) return kExitOk;
  auto s = open(vm);
  const auto report = s.datasets->verify(vm["id"].as<std::string>(), vm["version"].as<int>(), current_identity());
  Json problems = Json::array();
  for (const auto& p : report.problems) problems.push_back({{"path", p.path}, {"problem", p.what}});
  const Json doc{{"identifier", report.entry.identifier}, {"version", report.entry.version},
                 {"ok", report.problems.empty()}, {"problems", problems}};
  if (report.problems.empty()) {
    out.result(
        doc,
        [&](std::ostream& o) {
          o << report.entry.identifier << " version " << report.entry.version << ": " << report.entry.files
            << " files match the manifest\n";
        },
        2);
    return kExitOk;
  }
  // A failed verify is an error (exit 1): under --json its one document is the
  // error's, which lists every problem in its message and names the first file.
  std::string list;
  for (const auto& p : report.problems) list += "\n  " + p.path + ": " + p.what;
  throw Error("dataset.verify.failed", kVerifyFailed,
              report.entry.identifier + " version " + std::to_string(report.entry.version) + ": " +
                  std::to_string(report.problems.size()) + " problem(s)" + list,
              {{"file", report.problems.front().path}});
}

int withdraw_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("reason", po::value<std::string>()->default_value(""), "why (shown on the tombstone)");
  const Output out("dataset withdraw", args);
  po::variables_map vm;
  if (!id_options(out, args, o, vm, " --reason TEXT")) return kExitOk;
  auto s = open(vm);
  s.datasets->withdraw(vm["id"].as<std::string>(), vm["version"].as<int>(), vm["reason"].as<std::string>(),
                       current_identity());
  out.result({{"identifier", vm["id"].as<std::string>()}, {"withdrawn", true}},
             [&](std::ostream& o) { o << "withdrawn " << vm["id"].as<std::string>() << "\n"; });
  return kExitOk;
}

int decide_main(const std::vector<std::string>& args, bool approve) {
  po::options_description o("Options");
  o.add_options()("reason", po::value<std::string>()->default_value(""), "why (required to reject)");
  const Output out(approve ? "dataset approve" : "dataset reject", args);
  po::variables_map vm;
  if (!id_options(out, args, o, vm, approve ? "" : " --reason TEXT")) return kExitOk;
  auto s = open(vm);
  print_entry(out, s.datasets->decide(vm["id"].as<std::string>(), vm["version"].as<int>(), approve,
                                      vm["reason"].as<std::string>(), current_identity()));
  return kExitOk;
}

int pending_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  common_options(o);
  const Output out("dataset pending", args);
  po::variables_map vm;
  if (!out.parse("", o, {}, args, vm)) return kExitOk;
  auto s = open(vm);
  const auto entries = s.datasets->pending(current_identity());
  Json all = Json::array();
  for (const auto& e : entries) all.push_back(entry_document(e));
  out.result(
      all,
      [&](std::ostream& o) {
        for (const auto& e : entries)
          o << e.identifier << " v" << e.version << "  " << e.collection << "  " << e.owner << "  "
            << e.content["dc"]["titles"][0].value("title", "") << "\n";
      },
      2);
  return kExitOk;
}

// Filters from the command line: FIELD=VALUE (match), FIELD~PATTERN (like),
// FIELD=FROM..TO (range; either end may be empty).
Json filter_from(const std::string& text) {
  const auto like = text.find('~');
  const auto eq = text.find('=');
  if (like != std::string::npos && (eq == std::string::npos || like < eq))
    return {{"type", "like"}, {"field_name", text.substr(0, like)}, {"value", text.substr(like + 1)}};
  if (eq == std::string::npos)
    invalid("catalog.query.invalid", "--filter", "'" + text + "' is not FIELD=VALUE, FIELD=FROM..TO or FIELD~PATTERN");
  const std::string field = text.substr(0, eq), value = text.substr(eq + 1);
  if (const auto dots = value.find(".."); dots != std::string::npos) {
    auto bound = [](const std::string& b) -> Json {
      if (b.empty()) return "*";
      char* end = nullptr;
      const double d = std::strtod(b.c_str(), &end);
      return end && *end == '\0' ? Json(d) : Json(b);
    };
    return {{"type", "range"}, {"field_name", field}, {"values", {{{"from", bound(value.substr(0, dots))}, {"to", bound(value.substr(dots + 2))}}}}};
  }
  return {{"type", "match_any"}, {"field_name", field}, {"values", {value}}};
}

int search_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("q", po::value<std::string>()->default_value(""), "free text")(
      "filter", po::value<std::vector<std::string>>()->composing(), "FIELD=VALUE, FIELD=FROM..TO or FIELD~PATTERN")(
      "facet", po::value<std::vector<std::string>>()->composing(), "FIELD: count its values")(
      "limit", po::value<int>()->default_value(10), "results per page")(
      "marker", po::value<std::string>(), "continue after the page that printed this marker")(
      "query", po::value<std::string>(), "a Globus Search request document (JSON file)");
  common_options(o);
  po::positional_options_description pos;
  pos.add("q", 1);
  const Output out("dataset search", args);
  po::variables_map vm;
  if (!out.parse("[TEXT] [--filter F=V ...] [--facet F ...] [--limit N] [--marker M] [--query Q.json]", o, pos, args,
                 vm))
    return kExitOk;
  Json request = vm.count("query") ? load_json_file(vm["query"].as<std::string>(), "search request") : Json::object();
  if (!vm["q"].as<std::string>().empty()) request["q"] = vm["q"].as<std::string>();
  if (vm.count("filter"))
    for (const auto& f : vm["filter"].as<std::vector<std::string>>()) request["filters"].push_back(filter_from(f));
  if (vm.count("facet"))
    for (const auto& f : vm["facet"].as<std::vector<std::string>>())
      request["facets"].push_back({{"type", "terms"}, {"field_name", f}});
  if (!request.contains("limit") || !vm["limit"].defaulted()) request["limit"] = vm["limit"].as<int>();
  if (vm.count("marker")) request["marker"] = vm["marker"].as<std::string>();
  auto s = open(vm);
  const auto result = s.datasets->search(parse_query(request), current_identity());
  out.result(
      to_gmeta(result),
      [&](std::ostream& o) {
        o << result.total << " result(s)\n";
        for (const auto& h : result.hits)
          o << "  " << std::left << std::setw(28) << h.entry.identifier << " v" << h.entry.version << "  "
            << h.entry.content["dc"]["titles"][0].value("title", "") << "\n";
        for (const auto& f : result.facets) {
          o << f.name << ":";
          for (const auto& b : f.buckets)
            o << "  " << (b.value.is_string() ? b.value.get<std::string>() : b.value.dump()) << " (" << b.count << ")";
          o << "\n";
        }
        if (!result.marker.empty()) o << "next page: --marker " << result.marker << "\n";
      },
      2);
  return kExitOk;
}

int collection_main(const std::vector<std::string>& args) {
  po::options_description o("Options");
  o.add_options()("name", po::value<std::string>()->required(), "collection name")(
      "schema", po::value<std::string>(), "JSON Schema file for the domain metadata")(
      "require-approval", "publishing waits for a curator")(
      "curators", po::value<std::vector<std::string>>()->multitoken(), "user:NAME, group:NAME (comma-separated)");
  common_options(o);
  po::positional_options_description pos;
  pos.add("name", 1);
  const Output out("dataset collection", args);
  po::variables_map vm;
  if (!out.parse("NAME [--schema S.json] [--require-approval] [--curators P,...]", o, pos, args, vm)) return kExitOk;
  Collection c;
  c.name = vm["name"].as<std::string>();
  if (vm.count("schema")) c.schema = load_json_file(vm["schema"].as<std::string>(), "collection schema");
  c.requires_approval = vm.count("require-approval") > 0;
  if (vm.count("curators")) c.curators = split_list(vm["curators"].as<std::vector<std::string>>());
  auto s = open(vm);
  s.datasets->put_collection(c, current_identity());
  out.result({{"collection", c.name}, {"requires_approval", c.requires_approval}},
             [&](std::ostream& o) { o << "collection " << c.name << (c.requires_approval ? " (curated)" : "") << "\n"; });
  return kExitOk;
}

const std::map<std::string, std::pair<std::string, Verb>>& verbs() {
  static const std::map<std::string, std::pair<std::string, Verb>> v = {
      {"publish", {"copy (or --in-place), checksum, mint and record a dataset (a new version with --identifier)", publish_main}},
      {"verify", {"re-check every file of a version against its manifest", verify_main}},
      {"describe", {"show a dataset's record", describe_main}},
      {"versions", {"list the versions of a dataset", versions_main}},
      {"search", {"free text, filters and facets", search_main}},
      {"withdraw", {"withdraw a dataset (or one version), leaving a tombstone", withdraw_main}},
      {"approve", {"curator: make a pending version visible", [](const auto& a) { return decide_main(a, true); }}},
      {"reject", {"curator: refuse a pending version", [](const auto& a) { return decide_main(a, false); }}},
      {"pending", {"versions waiting for a curator", pending_main}},
      {"collection", {"create or change a collection (schema, approval, curators)", collection_main}},
  };
  return v;
}

int dataset_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    auto& out = args.empty() ? std::cerr : std::cout;
    out << "Usage: beamflow dataset VERB [OPTIONS]   (beamflow dataset VERB --help)\n\nVerbs:\n";
    for (const auto& [name, verb] : verbs()) out << "  " << std::left << std::setw(11) << name << verb.first << "\n";
    return args.empty() ? kExitUsage : kExitOk;
  }
  const auto it = verbs().find(args[0]);
  if (it == verbs().end()) {
    std::cerr << "beamflow dataset: unknown verb '" << args[0] << "'\n";
    return kExitUsage;
  }
  return it->second.second(std::vector<std::string>(args.begin() + 1, args.end()));
}

const Registrar dataset_cmd{{"dataset", "publish, verify, search, describe, version and withdraw datasets", dataset_main}};

}  // namespace
}  // namespace beamflow::cli
