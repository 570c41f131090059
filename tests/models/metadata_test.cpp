// Metadata checks: every problem named by its JSON pointer.
#include "jobs/models/metadata.hpp"

#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::expect_error;

Json minimal() {
  return Json::parse(R"({
    "datacite": {"version": "1.0.0"},
    "dlhub": {"name": "m", "visible_to": []},
    "beamflow": {"format": "forest-hdf5", "model_file": "forest.h5"}})");
}

std::vector<std::string> pointers(const Json& meta) {
  std::vector<std::string> out;
  for (const auto& p : check_metadata(meta)) out.push_back(p.pointer);
  return out;
}

TEST(Metadata, NameVersionAndFormatAreEnoughForAPrivateModel) {
  EXPECT_TRUE(check_metadata(minimal()).empty());
}

TEST(Metadata, PublicModelsNeedCreatorsTitlesAndDescriptions) {
  Json m = minimal();
  m["dlhub"]["visible_to"] = {"public"};
  EXPECT_EQ(pointers(m),
            (std::vector<std::string>{"/datacite/creators", "/datacite/titles", "/datacite/descriptions"}));
  m["datacite"]["creators"] = Json::parse(R"([{"creatorName": "Ward, Logan", "affiliations": ["ANL"]}])");
  m["datacite"]["titles"] = Json::parse(R"([{"title": "GFA"}])");
  m["datacite"]["descriptions"] =
      Json::parse(R"([{"description": "forest", "descriptionType": "Abstract"}])");
  EXPECT_TRUE(check_metadata(m).empty());
}

TEST(Metadata, EachBadFieldIsReportedWithItsPointer) {
  Json m = minimal();
  m["dlhub"]["name"] = "bad name/";
  m["datacite"]["version"] = "1.0";
  m["datacite"]["creators"] = Json::parse(R"([{"creatorName": ""}, 3])");
  m["datacite"]["identifier"] = Json::parse(R"({"identifier": "doi:x", "identifierType": "DOI"})");
  m["datacite"]["relatedIdentifiers"] = Json::parse(
      R"([{"relatedIdentifier": "10.1/x", "relatedIdentifierType": "DOI", "relationType": "IsTrainedOn"}])");
  m["dlhub"]["visible_to"] = {"everyone"};
  m["beamflow"]["files"] = {{"forest.h5", "abc"}, {"../x", std::string(64, 'a')}};
  m["beamflow"]["validation"] = Json::parse(R"([{"input": [[1]], "tolerance": -1}])");
  m["beamflow"]["format"] = "pickle";
  m["beamflow"]["extra"] = 1;
  m["servable"] = Json::parse(R"({"methods": {"run": {"output": {"type": "ndarray", "shape": [null, 0]}}}})");
  const auto p = pointers(m);
  for (const char* expected :
       {"/dlhub/name", "/datacite/version", "/datacite/creators/0/creatorName", "/datacite/creators/1",
        "/datacite/identifier/identifier", "/datacite/relatedIdentifiers/0/relationType",
        "/dlhub/visible_to/0", "/beamflow/files/forest.h5", "/beamflow/files/../x",
        "/beamflow/validation/0/expected", "/beamflow/validation/0/tolerance", "/beamflow/format",
        "/beamflow/extra", "/servable/methods/run/output/shape/1"})
    EXPECT_NE(std::find(p.begin(), p.end(), expected), p.end()) << expected;
}

TEST(Metadata, RequireValidNamesTheFirstFieldAndListsAll) {
  Json m = minimal();
  m.erase("beamflow");
  m["dlhub"].erase("name");
  expect_error(
      [&] { require_valid_metadata(m); }, "model.metadata.invalid",
      {"invalid model metadata:", "/dlhub/name: is required", "/beamflow: is required", "field=/beamflow"});
  expect_error([] { require_valid_metadata(Json::array()); }, "model.metadata.invalid",
               {"must be a JSON object"});
}

TEST(Metadata, SummaryReadsTheSearchableFields) {
  Json m = minimal();
  m["datacite"]["creators"] = Json::parse(R"([{"creatorName": "Ward, Logan"}])");
  m["datacite"]["titles"] = Json::parse(R"([{"title": "Glass"}])");
  m["dlhub"]["domains"] = {"materials science"};
  m["dlhub"]["visible_to"] = {"public"};
  m["servable"] = Json::parse(
      R"({"methods": {"run": {"input": {"type": "ndarray", "dtype": "float32", "shape": [null, 3]}}}})");
  const auto s = ModelSummary::of(m);
  EXPECT_EQ(s.title, "Glass");
  EXPECT_EQ(s.authors, std::vector<std::string>{"Ward, Logan"});
  EXPECT_TRUE(s.is_public);
  EXPECT_EQ(s.input_type, "ndarray float32 [null,3]");
  EXPECT_EQ(s.to_json()["visibility"], "public");
}

}  // namespace
}  // namespace beamflow::models
