#include "jobs/models/metadata.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "jobs/models/errors.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/models/semver.hpp"
#include "jobs/models/tensor.hpp"

namespace beamflow::models {

namespace {

// DataCite 4.1 relationType values.
const std::set<std::string>& relation_types() {
  static const std::set<std::string> s = {
      "IsCitedBy",      "Cites",           "IsSupplementTo",      "IsSupplementedBy", "IsContinuedBy",
      "Continues",      "IsNewVersionOf",  "IsPreviousVersionOf", "IsPartOf",         "HasPart",
      "IsReferencedBy", "References",      "IsDocumentedBy",      "Documents",        "IsCompiledBy",
      "Compiles",       "IsVariantFormOf", "IsOriginalFormOf",    "IsIdenticalTo",    "HasMetadata",
      "IsMetadataFor",  "Reviews",         "IsReviewedBy",        "IsDerivedFrom",    "IsSourceOf",
      "IsDescribedBy",  "Describes",       "HasVersion",          "IsVersionOf",      "Requires",
      "IsRequiredBy"};
  return s;
}

const std::set<std::string>& identifier_types() {
  static const std::set<std::string> s = {"ARK",  "arXiv", "bibcode", "DOI",  "EAN13", "EISSN", "Handle",
                                          "IGSN", "ISBN",  "ISSN",    "ISTC", "LISSN", "LSID",  "PMID",
                                          "PURL", "UPC",   "URL",     "URN",  "w3id"};
  return s;
}

bool plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos && s != "metadata.json";
}

class Checker {
 public:
  std::vector<MetadataProblem> problems;

  void add(const std::string& pointer, const std::string& message) { problems.push_back({pointer, message}); }

  // The member `key` of object `j` when present (j must be an object).
  static const Json* member(const Json& j, const std::string& key) {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }

  bool object(const Json& j, const std::string& p) {
    if (j.is_object()) return true;
    add(p, "must be an object");
    return false;
  }
  bool string(const Json* j, const std::string& p, bool required, bool non_empty = true) {
    if (!j) {
      if (required) add(p, "is required");
      return false;
    }
    if (!j->is_string() || (non_empty && j->get<std::string>().empty())) {
      add(p, non_empty ? "must be a non-empty string" : "must be a string");
      return false;
    }
    return true;
  }
  // An array; with `required_non_empty`, at least one element.
  bool array(const Json* j, const std::string& p, bool required_non_empty) {
    if (!j) {
      if (required_non_empty) add(p, "is required (at least one entry)");
      return false;
    }
    if (!j->is_array()) {
      add(p, "must be an array");
      return false;
    }
    if (required_non_empty && j->empty()) add(p, "must have at least one entry");
    return true;
  }
  void strings(const Json* j, const std::string& p) {
    if (!array(j, p, false)) return;
    for (std::size_t i = 0; i < j->size(); ++i) string(&(*j)[i], p + "/" + std::to_string(i), true);
  }
  void only_keys(const Json& j, const std::string& p, std::initializer_list<const char*> keys) {
    for (const auto& [k, v] : j.items())
      if (std::none_of(keys.begin(), keys.end(), [&](const char* key) { return k == key; }))
        add(p + "/" + k, "unknown field");
  }

  void datacite(const Json& d, bool is_public) {
    const std::string p = "/datacite";
    if (!object(d, p)) return;
    if (string(member(d, "version"), p + "/version", true) && !SemVer::parse(d["version"].get<std::string>()))
      add(p + "/version", "'" + d["version"].get<std::string>() +
                              "' is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE])");
    list_of_objects(member(d, "creators"), p + "/creators", is_public,
                    [&](const Json& c, const std::string& q) {
                      string(member(c, "creatorName"), q + "/creatorName", true);
                      string(member(c, "givenName"), q + "/givenName", false);
                      string(member(c, "familyName"), q + "/familyName", false);
                      strings(member(c, "affiliations"), q + "/affiliations");
                    });
    list_of_objects(member(d, "titles"), p + "/titles", is_public, [&](const Json& t, const std::string& q) {
      string(member(t, "title"), q + "/title", true);
    });
    list_of_objects(member(d, "descriptions"), p + "/descriptions", is_public,
                    [&](const Json& t, const std::string& q) {
                      string(member(t, "description"), q + "/description", true);
                      string(member(t, "descriptionType"), q + "/descriptionType", false);
                    });
    if (const Json* id = member(d, "identifier"); id && object(*id, p + "/identifier")) {
      const std::string q = p + "/identifier";
      if (string(member(*id, "identifierType"), q + "/identifierType", true) &&
          (*id)["identifierType"] != "DOI")
        add(q + "/identifierType", "must be \"DOI\"");
      static const std::regex doi(R"(10\.\d{4,9}/\S+)");
      if (string(member(*id, "identifier"), q + "/identifier", true) &&
          !std::regex_match((*id)["identifier"].get<std::string>(), doi))
        add(q + "/identifier", "is not a DOI (10.NNNN/suffix)");
    }
    list_of_objects(
        member(d, "relatedIdentifiers"), p + "/relatedIdentifiers", false,
        [&](const Json& r, const std::string& q) {
          string(member(r, "relatedIdentifier"), q + "/relatedIdentifier", true);
          if (string(member(r, "relatedIdentifierType"), q + "/relatedIdentifierType", true) &&
              !identifier_types().count(r["relatedIdentifierType"].get<std::string>()))
            add(q + "/relatedIdentifierType", "is not a DataCite identifier type (DOI, URL, arXiv, ...)");
          if (string(member(r, "relationType"), q + "/relationType", true) &&
              !relation_types().count(r["relationType"].get<std::string>()))
            add(q + "/relationType", "is not a DataCite relation type (IsDerivedFrom, IsDescribedBy, ...)");
        });
  }

  template <class Each>
  void list_of_objects(const Json* j, const std::string& p, bool required, Each&& each) {
    if (!array(j, p, required)) return;
    for (std::size_t i = 0; i < j->size(); ++i) {
      const std::string q = p + "/" + std::to_string(i);
      if (object((*j)[i], q)) each((*j)[i], q);
    }
  }

  void dlhub(const Json& d) {
    const std::string p = "/dlhub";
    if (!object(d, p)) return;
    only_keys(d, p,
              {"version", "publication_date", "domains", "owner", "name", "visible_to", "id",
               "transfer_method", "files", "test", "type"});
    if (string(member(d, "name"), p + "/name", true) && !valid_model_name(d["name"].get<std::string>()))
      add(p + "/name", "must match [A-Za-z0-9][A-Za-z0-9_.-]* (at most 128 characters)");
    strings(member(d, "domains"), p + "/domains");
    if (const Json* v = member(d, "visible_to"); v && array(v, p + "/visible_to", false)) {
      static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
      for (std::size_t i = 0; i < v->size(); ++i) {
        const std::string q = p + "/visible_to/" + std::to_string(i);
        if (string(&(*v)[i], q, true) && (*v)[i] != "public" &&
            !std::regex_match((*v)[i].get<std::string>(), uuid))
          add(q, "must be \"public\" or a Globus identity UUID");
      }
    }
    if (const Json* t = member(d, "type"); t && *t != "servable") add(p + "/type", "must be \"servable\"");
  }

  void servable(const Json& s, bool preprocessed) {
    const std::string p = "/servable";
    if (!object(s, p)) return;
    string(member(s, "type"), p + "/type", false);
    string(member(s, "model_type"), p + "/model_type", false);
    const Json* methods = member(s, "methods");
    if (!methods) return;
    if (!object(*methods, p + "/methods")) return;
    const Json* run = member(*methods, "run");
    if (!run) return add(p + "/methods/run", "is required (the method beamflow calls)");
    const std::string q = p + "/methods/run";
    if (!object(*run, q)) return;
    if (const Json* in = member(*run, "input")) {
      if (!preprocessed)
        spec(*in, q + "/input");
      else if (object(*in, q + "/input"))
        string(member(*in, "type"), q + "/input/type", true);
    }
    if (const Json* out = member(*run, "output")) spec(*out, q + "/output");
  }

  void spec(const Json& j, const std::string& p) {
    try {
      TensorSpec::from_json(j, p);
    } catch (const Error& e) {
      add(e.context().empty() ? p : e.context().front().second,
          e.message().substr(e.message().find(": ") + 2));
    }
  }

  void beamflow(const Json& b) {
    const std::string p = "/beamflow";
    if (!object(b, p)) return;
    only_keys(b, p, {"format", "opset", "model_file", "files", "preprocessing", "validation", "producer"});
    if (string(member(b, "format"), p + "/format", true)) {
      try {
        model_format(b["format"].get<std::string>());
      } catch (const Error& e) {
        add(p + "/format", e.message());
      }
    }
    if (const Json* o = member(b, "opset"); o && !(o->is_number_integer() && o->get<std::int64_t>() >= 1))
      add(p + "/opset", "must be an integer >= 1");
    if (string(member(b, "model_file"), p + "/model_file", true) &&
        !plain_file_name(b["model_file"].get<std::string>()))
      add(p + "/model_file", "must be a plain file name in the model's directory");
    if (const Json* f = member(b, "files"); f && object(*f, p + "/files")) {
      static const std::regex hex("[0-9a-f]{64}");
      for (const auto& [name, hash] : f->items()) {
        const std::string q = p + "/files/" + name;
        if (!plain_file_name(name))
          add(q, "must name a plain file in the model's directory");
        else if (!hash.is_string() || !std::regex_match(hash.get<std::string>(), hex))
          add(q, "must be a sha256 as 64 lowercase hex digits");
      }
    }
    if (const Json* pre = member(b, "preprocessing"); pre && object(*pre, p + "/preprocessing"))
      string(member(*pre, "name"), p + "/preprocessing/name", true);
    list_of_objects(
        member(b, "validation"), p + "/validation", false, [&](const Json& v, const std::string& q) {
          only_keys(v, q, {"input", "expected", "tolerance", "description"});
          if (!member(v, "input")) add(q + "/input", "is required");
          if (const Json* e = member(v, "expected"); !e || !e->is_array())
            add(q + "/expected", "is required (a nested array of outputs)");
          if (const Json* t = member(v, "tolerance"); t && !(t->is_number() && t->get<double>() >= 0))
            add(q + "/tolerance", "must be a number >= 0");
        });
  }
};

}  // namespace

bool valid_model_name(const std::string& name) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  return std::regex_match(name, re);
}

std::vector<MetadataProblem> check_metadata(const Json& meta) {
  Checker c;
  if (!meta.is_object()) {
    c.add("", "metadata must be a JSON object");
    return c.problems;
  }
  c.only_keys(meta, "", {"datacite", "dlhub", "servable", "beamflow"});
  bool is_public = false;
  if (auto d = meta.find("dlhub"); d != meta.end() && d->is_object())
    if (auto v = d->find("visible_to"); v != d->end() && v->is_array())
      is_public = std::find(v->begin(), v->end(), Json("public")) != v->end();
  for (const char* section : {"datacite", "dlhub", "beamflow"})
    if (!meta.contains(section)) c.add(std::string("/") + section, "is required");
  if (meta.contains("datacite")) c.datacite(meta["datacite"], is_public);
  if (meta.contains("dlhub")) c.dlhub(meta["dlhub"]);
  const bool preprocessed =
      meta.contains("beamflow") && meta["beamflow"].is_object() && meta["beamflow"].contains("preprocessing");
  if (meta.contains("servable")) c.servable(meta["servable"], preprocessed);
  if (meta.contains("beamflow")) c.beamflow(meta["beamflow"]);
  return c.problems;
}

void require_valid_metadata(const Json& meta) {
  const auto problems = check_metadata(meta);
  if (problems.empty()) return;
  std::string message = "invalid model metadata:";
  for (const auto& p : problems)
    message += " " + (p.pointer.empty() ? std::string("/") : p.pointer) + ": " + p.message + ";";
  message.pop_back();
  throw model_error("model.metadata.invalid", model_asl::InvalidMetadata, message,
                    {{"field", problems.front().pointer.empty() ? "/" : problems.front().pointer}});
}

namespace {
std::string str(const Json& j, const Json::json_pointer& p) {
  return j.contains(p) && j[p].is_string() ? j[p].get<std::string>() : std::string();
}
}  // namespace

ModelSummary ModelSummary::of(const Json& meta) {
  ModelSummary s;
  s.name = str(meta, "/dlhub/name"_json_pointer);
  s.version = str(meta, "/datacite/version"_json_pointer);
  s.title = str(meta, "/datacite/titles/0/title"_json_pointer);
  s.description = str(meta, "/datacite/descriptions/0/description"_json_pointer);
  if (meta.contains("/datacite/creators"_json_pointer))
    for (const auto& c : meta["/datacite/creators"_json_pointer])
      if (c.is_object() && c.value("creatorName", Json()).is_string()) s.authors.push_back(c["creatorName"]);
  if (meta.contains("/dlhub/domains"_json_pointer))
    for (const auto& d : meta["/dlhub/domains"_json_pointer])
      if (d.is_string()) s.domains.push_back(d);
  s.format = str(meta, "/beamflow/format"_json_pointer);
  if (meta.contains("/dlhub/visible_to"_json_pointer)) {
    const auto& v = meta["/dlhub/visible_to"_json_pointer];
    s.is_public = v.is_array() && std::find(v.begin(), v.end(), Json("public")) != v.end();
  }
  if (auto doi = str(meta, "/datacite/identifier/identifier"_json_pointer); !doi.empty()) s.doi = doi;
  const auto in = "/servable/methods/run/input"_json_pointer;
  if (meta.contains(in) && meta[in].is_object()) {
    const Json& j = meta[in];
    s.input_type = j.value("type", "");
    if (j.contains("dtype") && j["dtype"].is_string()) s.input_type += " " + j["dtype"].get<std::string>();
    if (j.contains("item_type") && j["item_type"].is_object()) {
      const Json& item = j["item_type"];
      s.input_type +=
          " of " + (item.contains("python_type") ? item.value("python_type", "") : item.value("type", ""));
    }
    if (j.contains("shape")) s.input_type += " " + j["shape"].dump();
  }
  return s;
}

Json ModelSummary::to_json() const {
  Json j = {{"name", name},
            {"version", version},
            {"title", title},
            {"description", description},
            {"authors", authors},
            {"domains", domains},
            {"format", format},
            {"input_type", input_type},
            {"visibility", is_public ? "public" : "private"}};
  if (doi) j["doi"] = *doi;
  return j;
}

}  // namespace beamflow::models
