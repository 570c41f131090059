#include "jobs/catalog/metadata.hpp"

#include <set>

#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/identifier.hpp"
#include "jobs/catalog/json_schema.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

using Names = std::set<std::string>;

const Names kResourceTypes = {
    "Audiovisual", "Book", "BookChapter", "Collection", "ComputationalNotebook", "ConferencePaper",
    "ConferenceProceeding", "DataPaper", "Dataset", "Dissertation", "Event", "Image", "Instrument",
    "InteractiveResource", "Journal", "JournalArticle", "Model", "OutputManagementPlan", "PeerReview",
    "PhysicalObject", "Preprint", "Report", "Service", "Software", "Sound", "Standard", "StudyRegistration",
    "Text", "Workflow", "Other"};
const Names kRelatedIdentifierTypes = {"ARK", "arXiv", "bibcode", "DOI", "EAN13", "EISSN", "Handle", "IGSN",
                                       "ISBN", "ISSN", "ISTC", "LISSN", "LSID", "PMID", "PURL", "UPC",
                                       "URL", "URN", "w3id"};
const Names kRelationTypes = {
    "IsCitedBy", "Cites", "IsSupplementTo", "IsSupplementedBy", "IsContinuedBy", "Continues",
    "IsDescribedBy", "Describes", "HasMetadata", "IsMetadataFor", "HasVersion", "IsVersionOf",
    "IsNewVersionOf", "IsPreviousVersionOf", "IsPartOf", "HasPart", "IsPublishedIn", "IsReferencedBy",
    "References", "IsDocumentedBy", "Documents", "IsCompiledBy", "Compiles", "IsVariantFormOf",
    "IsOriginalFormOf", "IsIdenticalTo", "IsReviewedBy", "Reviews", "IsDerivedFrom", "IsSourceOf",
    "IsRequiredBy", "Requires", "IsObsoletedBy", "Obsoletes"};
const Names kDateTypes = {"Accepted", "Available", "Copyrighted", "Collected", "Created", "Issued",
                          "Submitted", "Updated", "Valid", "Withdrawn", "Other"};
const Names kDescriptionTypes = {"Abstract", "Methods", "SeriesInformation", "TableOfContents",
                                 "TechnicalInfo", "Other"};
const Names kNameTypes = {"Organizational", "Personal"};

[[noreturn]] void missing(const std::string& field, const std::string& what = "is required") {
  invalid("dataset.metadata.missing", field, what);
}
[[noreturn]] void wrong(const std::string& field, const std::string& what) {
  invalid("dataset.metadata.invalid", field, what);
}

std::string list(const Names& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void only_keys(const Json& obj, const std::string& field, const Names& allowed) {
  for (const auto& [k, v] : obj.items())
    if (!allowed.count(k)) wrong(field + "." + k, "unknown property (allowed: " + list(allowed) + ")");
}

const Json& object_at(const Json& parent, const std::string& key, const std::string& field) {
  const auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) missing(field);
  if (!it->is_object()) wrong(field, "must be an object");
  return *it;
}

// A required non-empty string (blank counts as missing).
std::string text(const Json& parent, const std::string& key, const std::string& field) {
  const auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) missing(field);
  if (!it->is_string()) wrong(field, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.find_first_not_of(" \t\r\n") == std::string::npos) missing(field, "is empty");
  if (utf8_length(s) > 65536) wrong(field, "longer than 65536 characters");
  return s;
}

void optional_text(const Json& parent, const std::string& key, const std::string& field) {
  if (parent.contains(key)) text(parent, key, field);
}

void one_of(const Json& parent, const std::string& key, const std::string& field, const Names& names,
            bool required) {
  if (!required && !parent.contains(key)) return;
  const std::string v = text(parent, key, field);
  if (!names.count(v)) wrong(field, "'" + v + "' is not one of " + list(names));
}

// A non-empty array of objects; `each` checks one element.
template <class F>
void array_of(const Json& dc, const std::string& key, bool required, F&& each) {
  const std::string field = "dc." + key;
  const auto it = dc.find(key);
  if (it == dc.end() || it->is_null()) {
    if (required) missing(field);
    return;
  }
  if (!it->is_array()) wrong(field, "must be an array");
  if (it->empty()) {
    if (required) missing(field, "needs at least one entry");
    return;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    if (!(*it)[i].is_object()) wrong(at, "must be an object");
    each((*it)[i], at);
  }
}

void check_creator(const Json& c, const std::string& at) {
  only_keys(c, at, {"name", "nameType", "givenName", "familyName", "affiliation", "nameIdentifiers", "lang"});
  text(c, "name", at + ".name");
  one_of(c, "nameType", at + ".nameType", kNameTypes, false);
  optional_text(c, "givenName", at + ".givenName");
  optional_text(c, "familyName", at + ".familyName");
  if (auto a = c.find("affiliation"); a != c.end()) {
    if (!a->is_array()) wrong(at + ".affiliation", "must be an array");
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto& item = (*a)[i];
      const std::string f = at + ".affiliation[" + std::to_string(i) + "]";
      if (item.is_object()) text(item, "name", f + ".name");
      else if (!item.is_string() || item.get<std::string>().empty()) wrong(f, "must be a name or {\"name\": ...}");
    }
  }
  if (auto n = c.find("nameIdentifiers"); n != c.end()) {
    if (!n->is_array()) wrong(at + ".nameIdentifiers", "must be an array");
    for (std::size_t i = 0; i < n->size(); ++i) {
      const std::string f = at + ".nameIdentifiers[" + std::to_string(i) + "]";
      if (!(*n)[i].is_object()) wrong(f, "must be an object");
      text((*n)[i], "nameIdentifier", f + ".nameIdentifier");
      optional_text((*n)[i], "nameIdentifierScheme", f + ".nameIdentifierScheme");
    }
  }
}

void check_publication_year(const Json& dc) {
  const std::string field = "dc.publicationYear";
  const auto it = dc.find("publicationYear");
  if (it == dc.end() || it->is_null()) missing(field);
  long long year = 0;
  // DataCite's JSON writes the year as a string; both forms are accepted.
  if (it->is_number_integer()) {
    year = it->get<long long>();
  } else if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s.empty()) missing(field, "is empty");
    if (s.size() != 4 || s.find_first_not_of("0123456789") != std::string::npos)
      wrong(field, "'" + s + "' is not a four-digit year");
    year = std::stoll(s);
  } else {
    wrong(field, "must be a four-digit year");
  }
  if (year < 1000 || year > 9999) wrong(field, std::to_string(year) + " is not a four-digit year");
}

}  // namespace

void check_datacite(const Json& dc) {
  if (!dc.is_object()) wrong("dc", "must be an object");
  only_keys(dc, "dc",
            {"identifier", "identifiers", "creators", "titles", "publisher", "publicationYear", "types",
             "subjects", "contributors", "relatedIdentifiers", "dates", "rightsList", "descriptions",
             "version", "language", "formats", "sizes", "fundingReferences", "geoLocations"});
  if (auto id = dc.find("identifier"); id != dc.end()) {
    if (!id->is_object()) wrong("dc.identifier", "must be {\"identifier\": ..., \"identifierType\": ...}");
    const auto parsed = parse_identifier(text(*id, "identifier", "dc.identifier.identifier"),
                                         "dc.identifier.identifier");
    if (text(*id, "identifierType", "dc.identifier.identifierType") != parsed.type)
      wrong("dc.identifier.identifierType", "must be " + parsed.type + " for '" + parsed.value + "'");
  }
  array_of(dc, "creators", true, check_creator);
  array_of(dc, "titles", true, [](const Json& t, const std::string& at) {
    only_keys(t, at, {"title", "titleType", "lang"});
    text(t, "title", at + ".title");
    one_of(t, "titleType", at + ".titleType", {"AlternativeTitle", "Subtitle", "TranslatedTitle", "Other"}, false);
  });
  if (auto p = dc.find("publisher"); p != dc.end() && p->is_object()) text(*p, "name", "dc.publisher.name");
  else text(dc, "publisher", "dc.publisher");
  check_publication_year(dc);
  const Json& types = object_at(dc, "types", "dc.types");
  one_of(types, "resourceTypeGeneral", "dc.types.resourceTypeGeneral", kResourceTypes, true);
  optional_text(types, "resourceType", "dc.types.resourceType");

  array_of(dc, "subjects", false, [](const Json& s, const std::string& at) {
    only_keys(s, at, {"subject", "subjectScheme", "schemeUri", "valueUri", "classificationCode", "lang"});
    text(s, "subject", at + ".subject");
  });
  array_of(dc, "contributors", false, [](const Json& c, const std::string& at) {
    Json person = c;
    person.erase("contributorType");
    check_creator(person, at);
    text(c, "contributorType", at + ".contributorType");
  });
  array_of(dc, "relatedIdentifiers", false, [](const Json& r, const std::string& at) {
    only_keys(r, at, {"relatedIdentifier", "relatedIdentifierType", "relationType", "resourceTypeGeneral"});
    const std::string value = text(r, "relatedIdentifier", at + ".relatedIdentifier");
    one_of(r, "relatedIdentifierType", at + ".relatedIdentifierType", kRelatedIdentifierTypes, true);
    one_of(r, "relationType", at + ".relationType", kRelationTypes, true);
    const std::string type = r["relatedIdentifierType"].get<std::string>();
    if (type == "DOI" || type == "ARK") {
      const auto parsed = parse_identifier(value, at + ".relatedIdentifier", "");
      if (parsed.type != type) wrong(at + ".relatedIdentifier", "'" + value + "' is not a " + type);
    }
  });
  array_of(dc, "dates", false, [](const Json& d, const std::string& at) {
    only_keys(d, at, {"date", "dateType", "dateInformation"});
    const std::string date = text(d, "date", at + ".date");
    // DataCite allows a range "start/end" of ISO dates.
    const auto slash = date.find('/');
    for (const auto& part : slash == std::string::npos ? std::vector<std::string>{date}
                                                       : std::vector<std::string>{date.substr(0, slash), date.substr(slash + 1)})
      if (!is_iso_date(part, false) && !is_iso_date(part, true))
        wrong(at + ".date", "'" + date + "' is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD, date-time or a start/end range)");
    one_of(d, "dateType", at + ".dateType", kDateTypes, true);
  });
  array_of(dc, "rightsList", false, [](const Json& r, const std::string& at) {
    only_keys(r, at, {"rights", "rightsUri", "rightsIdentifier", "rightsIdentifierScheme", "schemeUri", "lang"});
    if (!r.contains("rights") && !r.contains("rightsUri")) missing(at + ".rights", "needs rights or rightsUri");
    optional_text(r, "rights", at + ".rights");
    optional_text(r, "rightsUri", at + ".rightsUri");
  });
  array_of(dc, "descriptions", false, [](const Json& d, const std::string& at) {
    only_keys(d, at, {"description", "descriptionType", "lang"});
    text(d, "description", at + ".description");
    one_of(d, "descriptionType", at + ".descriptionType", kDescriptionTypes, true);
  });
  optional_text(dc, "language", "dc.language");
  if (auto v = dc.find("version"); v != dc.end() && !v->is_string() && !v->is_number_integer())
    wrong("dc.version", "must be a string");
  for (const char* key : {"formats", "sizes"})
    if (auto it = dc.find(key); it != dc.end()) {
      if (!it->is_array()) wrong(std::string("dc.") + key, "must be an array of strings");
      for (const auto& s : *it)
        if (!s.is_string()) wrong(std::string("dc.") + key, "must be an array of strings");
    }
}

void check_metadata(const Json& document, const Json& domain_schema) {
  if (!document.is_object()) wrong("metadata", "must be a JSON object with \"dc\" and \"domain\"");
  for (const auto& [k, v] : document.items())
    if (k != "dc" && k != "domain")
      wrong(k, "unknown top-level property (metadata holds \"dc\" and \"domain\")");
  if (!document.contains("dc")) missing("dc", "is required (the DataCite metadata)");
  check_datacite(document["dc"]);
  const Json domain = document.value("domain", Json::object());
  if (!domain.is_object()) wrong("domain", "must be an object");
  if (!domain_schema.is_null())
    if (auto v = validate_against(domain_schema, domain))
      throw Error("dataset.metadata.schema", kInvalidInput,
                  "domain" + (v->pointer == "/" ? std::string() : v->pointer) + ": " + v->message,
                  {{"field", "domain" + (v->pointer == "/" ? std::string() : v->pointer)}});
}

}  // namespace beamflow::catalog
