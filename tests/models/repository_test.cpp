// The repository: publish completes and checks metadata, refuses what is
// wrong without writing anything, versions are immutable and ordered, and
// stored files are checked at every load.
#include "jobs/models/repository.hpp"

#include <sys/stat.h>

#include <fstream>

#include "jobs/models/cache.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::copy_reference_model;
using testing::expect_error;
using testing::read_json;
using testing::TempDir;
using testing::visible_entries;
using testing::write_json;

struct RepoFixture : ::testing::Test {
  TempDir tmp;
  Repository repo{tmp / "repo"};

  std::filesystem::path source(const std::string& name = "rf_classifier") {
    return copy_reference_model(name, tmp / ("src-" + name));
  }
  PublishRequest request(const std::filesystem::path& src,
                         std::optional<std::string> version = std::nullopt) {
    PublishRequest r;
    r.source = src;
    r.version = std::move(version);
    return r;
  }
  // Publishing must fail with `id` and leave the repository as it was.
  void expect_refused(const PublishRequest& r, const std::string& id,
                      const std::vector<std::string>& mentions) {
    const auto before = visible_entries(repo.root());
    expect_error([&] { repo.publish(r); }, id, mentions);
    EXPECT_EQ(visible_entries(repo.root()), before);
    std::error_code ec;
    EXPECT_TRUE(std::filesystem::is_empty(repo.root() / ".staging", ec) || ec) << "staging left behind";
  }
};

TEST_F(RepoFixture, PublishCompletesTheMetadataAndStoresReadOnlyCheckedFiles) {
  const auto record = repo.publish(request(source()));
  EXPECT_EQ(record.ref(), "rf_classifier@1.0.0");
  EXPECT_EQ(record.dir, repo.root() / "rf_classifier" / "1.0.0");
  const Json meta = repo.read_metadata(record);
  EXPECT_EQ(meta["/servable/methods/run/input/shape"_json_pointer], Json::parse("[null, 20]"));
  EXPECT_EQ(meta["/servable/methods/run/output/labels"_json_pointer],
            Json::parse(R"(["high", "low", "mid"])"));
  EXPECT_EQ(meta["/beamflow/files/forest.h5"_json_pointer].get<std::string>().size(), 64u);
  EXPECT_TRUE(meta["dlhub"].contains("publication_date"));
  EXPECT_EQ(
      std::filesystem::status(record.dir / "forest.h5").permissions() & std::filesystem::perms::owner_write,
      std::filesystem::perms::none);
  const auto model = repo.load(ModelRef::parse("rf_classifier"));
  EXPECT_EQ(model->ref(), "rf_classifier@1.0.0");
  EXPECT_NO_THROW(run_validation_vectors(*model));
}

// Like everything under $BEAMFLOW_HOME (issue 9): the repository's
// directories are 0700 whatever the umask.
TEST_F(RepoFixture, RepositoryDirectoriesAreOwnerOnlyWhateverTheUmask) {
  const mode_t old = ::umask(0);
  const auto record = repo.publish(request(source()));
  ::umask(old);
  for (const auto& dir : {repo.root(), repo.root() / ".staging", repo.root() / "rf_classifier", record.dir})
    EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all)
        << dir;
}

TEST_F(RepoFixture, ANameAloneIsEnoughForAPrivateModelFromABareFile) {
  PublishRequest r;
  r.source = source() / "forest.h5";
  r.name = "bare";
  const auto record = repo.publish(r);
  const Json meta = repo.read_metadata(record);
  EXPECT_EQ(meta["/dlhub/visible_to"_json_pointer], Json::array());
  EXPECT_EQ(meta["/datacite/titles/0/title"_json_pointer], "bare");
  EXPECT_EQ(meta["/beamflow/format"_json_pointer], "forest-hdf5");
  EXPECT_EQ(ModelSummary::of(meta).is_public, false);
}

TEST_F(RepoFixture, LatestIsTheHighestSemanticVersion) {
  const auto src = source();
  for (const char* v : {"1.2.0", "1.10.0", "1.10.0-rc.1", "0.9.0"}) repo.publish(request(src, v));
  EXPECT_EQ(repo.find(ModelRef::parse("rf_classifier")).version.text, "1.10.0");
  EXPECT_EQ(repo.find(ModelRef::parse("rf_classifier@1.2.0")).version.text, "1.2.0");
  EXPECT_EQ(repo.list().size(), 4u);
  expect_error([&] { repo.find(ModelRef::parse("rf_classifier@3.0.0")); }, "model.version_not_found",
               {"has no version 3.0.0", "0.9.0, 1.2.0, 1.10.0-rc.1, 1.10.0"});
  expect_error([&] { repo.find(ModelRef::parse("nope")); }, "model.not_found", {"no model named 'nope'"});
  expect_error([] { ModelRef::parse("a b@1.0.0"); }, "model.name.invalid", {"NAME or NAME@VERSION"});
  expect_error([] { ModelRef::parse("m@latest"); }, "model.name.invalid",
               {"'latest'", "not a semantic version"});
}

TEST_F(RepoFixture, VersionsAreImmutable) {
  const auto src = source();
  repo.publish(request(src));
  const auto before = testing::read_json(repo.root() / "rf_classifier/1.0.0/metadata.json");
  expect_refused(request(src), "model.publish.exists",
                 {"rf_classifier@1.0.0 is already published", "immutable"});
  EXPECT_EQ(testing::read_json(repo.root() / "rf_classifier/1.0.0/metadata.json"), before);
}

TEST_F(RepoFixture, BadMetadataIsRefusedNamingTheFieldAndNothingIsWritten) {
  const auto src = source();
  Json meta = read_json(src / "metadata.json");
  meta["dlhub"]["visible_to"] = {"public"};
  meta["datacite"]["creators"] = Json::parse(R"([{"affiliations": ["ANL"]}])");
  write_json(src / "metadata.json", meta);
  expect_refused(request(src), "model.metadata.invalid", {"/datacite/creators/0/creatorName: is required"});
  write_json(src / "metadata.json", Json::parse("[1]"));
  expect_refused(request(src), "model.metadata.invalid", {"must be a JSON object"});
  std::ofstream(src / "metadata.json") << "{ not json";
  expect_refused(request(src), "model.metadata.invalid", {"metadata.json is not valid JSON"});
}

TEST_F(RepoFixture, DeclaredSignaturesMustMatchTheModelFile) {
  const auto src = source();
  Json meta = read_json(src / "metadata.json");
  meta["servable"]["methods"]["run"]["input"]["shape"] = Json::parse("[null, 21]");
  write_json(src / "metadata.json", meta);
  expect_refused(request(src), "model.metadata.invalid",
                 {"/servable/methods/run/input", "[null, 21]", "model file has float32 [null, 20]"});
  meta = read_json(copy_reference_model("rf_classifier", src) / "metadata.json");
  meta["servable"]["methods"]["run"]["output"]["labels"] = {"a", "b"};
  write_json(src / "metadata.json", meta);
  expect_refused(request(src), "model.metadata.invalid",
                 {"/servable/methods/run/output/labels", "2 labels for 3"});
}

TEST_F(RepoFixture, FailingValidationVectorsAreRefused) {
  const auto src = source();
  Json meta = read_json(src / "metadata.json");
  auto& expected = meta["beamflow"]["validation"][0]["expected"];
  expected[3][1] = expected[3][1].get<double>() + 1e-16;
  write_json(src / "metadata.json", meta);
  expect_refused(
      request(src), "model.validation.failed",
      {"validation vector 0: output row 3, column 1", "(tolerance 0)", "field=/beamflow/validation/0"});
  meta["beamflow"]["validation"][0]["input"] = Json::parse("[[1, 2]]");
  write_json(src / "metadata.json", meta);
  expect_refused(request(src), "model.validation.failed", {"the model refused the input", "[1, 2]"});
}

TEST_F(RepoFixture, ACorruptedSourceFileIsCaughtByItsSha256) {
  const auto src = source();
  std::fstream f(src / "forest.h5", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-8, std::ios::end);
  f.put('\x7f');
  f.close();
  expect_refused(request(src), "model.file.checksum",
                 {"does not match the sha256 in the metadata", "forest.h5"});
}

TEST_F(RepoFixture, SourcesWithoutAModelAreRefused) {
  expect_refused(request(tmp / "absent"), "model.publish.source", {"nothing to publish"});
  std::filesystem::create_directories(tmp / "empty");
  std::ofstream(tmp / "empty" / "readme.txt") << "hi";
  PublishRequest r = request(tmp / "empty");
  r.name = "x";
  expect_refused(r, "model.publish.source", {"no model file found", "forest-hdf5"});
}

TEST_F(RepoFixture, StoredFilesAreCheckedAtEveryLoad) {
  const auto record = repo.publish(request(source()));
  const auto file = record.dir / "forest.h5";
  std::filesystem::permissions(file, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 100);
  expect_error([&] { repo.load(ModelRef::parse("rf_classifier")); }, "model.file.checksum",
               {"corrupted or truncated", "file=" + file.string()});
  std::filesystem::remove(file);
  expect_error([&] { repo.load(ModelRef::parse("rf_classifier")); }, "model.file.missing", {"forest.h5"});
  std::ofstream(record.dir / "metadata.json") << "{";
  expect_error([&] { repo.load(ModelRef::parse("rf_classifier")); }, "model.metadata.corrupt",
               {"not valid JSON"});
}

TEST_F(RepoFixture, SearchMatchesWordsDomainsInputTypesAndFormats) {
  auto src = source();
  Json meta = read_json(src / "metadata.json");
  meta["datacite"]["titles"] = Json::parse(R"([{"title": "Bragg peak finder"}])");
  meta["datacite"]["creators"] = Json::parse(R"([{"creatorName": "Wang, Boyu"}])");
  meta["dlhub"]["domains"] = {"X-ray scattering"};
  write_json(src / "metadata.json", meta);
  repo.publish(request(src));
  repo.publish(request(source("gb_regressor")));
  auto names = [&](const SearchQuery& q) {
    std::vector<std::string> out;
    for (const auto& s : repo.search(q)) out.push_back(s.name);
    return out;
  };
  EXPECT_EQ(names({"bragg WANG", {}, {}, {}}), std::vector<std::string>{"rf_classifier"});
  EXPECT_EQ(names({"", std::string("x-ray scattering"), {}, {}}), std::vector<std::string>{"rf_classifier"});
  EXPECT_EQ(names({"", {}, std::string("float32"), std::string("forest-hdf5")}),
            (std::vector<std::string>{"gb_regressor", "rf_classifier"}));
  EXPECT_TRUE(names({"", {}, {}, std::string("onnx")}).empty());
  EXPECT_TRUE(names({"bragg nothing", {}, {}, {}}).empty());
}

TEST_F(RepoFixture, TheCacheLoadsEachVersionOnce) {
  const auto src = source();
  repo.publish(request(src));
  ModelCache cache;
  const auto a = cache.get(repo, ModelRef::parse("rf_classifier"));
  const auto b = cache.get(repo, ModelRef::parse("rf_classifier@1.0.0"));
  EXPECT_EQ(a.get(), b.get());
  repo.publish(request(src, "1.1.0"));
  EXPECT_EQ(cache.get(repo, ModelRef::parse("rf_classifier"))->version(), "1.1.0");
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(RepoFixture, AnUnwritableRepositoryIsAnIoError) {
  std::ofstream(tmp / "file") << "not a directory";
  Repository blocked(tmp / "file" / "repo");
  PublishRequest r = request(source());
  expect_error([&] { blocked.publish(r); }, "model.publish.io", {"staging directory"});
}

TEST(Formats, UnknownFormatsListTheOnesThisBuildRuns) {
  expect_error([] { model_format("pickle"); }, "model.format.unknown", {"'pickle'", "forest-hdf5"});
  EXPECT_EQ(detect_format(testing::source_dir() / "configs/data/elements.csv"), nullptr);
}

}  // namespace
}  // namespace beamflow::models
