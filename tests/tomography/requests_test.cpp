// One field table serves the command line, the actions' JSON and their
// schema: types, defaults, unknown and missing fields.
#include "jobs/tomography/requests.hpp"

#include <gtest/gtest.h>

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

using testing::expect_error;

TEST(Requests, ReconOptionsFromJson) {
  const Json request{{"input", "d.h5"},         {"output", "/abs/r.h5"},     {"algorithm", "fbp"},
                     {"chunk_rows", 8},         {"center", "12.5"},          {"rows", "2:10"},
                     {"preview_slices", "1,3"}, {"overwrite", true},         {"flat_reduce", "median"},
                     {"stripe_size", 21},       {"center_search_radius", 10}};
  const ReconOptions o = options_from_json(recon_fields(), request, "/work");
  EXPECT_EQ(o.input, "/work/d.h5");
  EXPECT_EQ(o.output, "/abs/r.h5");
  EXPECT_EQ(o.algorithm, "fbp");
  EXPECT_EQ(o.chunk_rows, 8);
  EXPECT_EQ(o.center.resolve({0, 1}), std::vector<double>{12.5});
  EXPECT_EQ(o.rows->resolve(20, "f", "d"), (parallel::RowRange{2, 10}));
  EXPECT_EQ(o.preview_slices, (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE(o.overwrite);
  EXPECT_EQ(o.preprocess.field_reduce, kernels::FieldReduce::Median);
  EXPECT_EQ(o.preprocess.stripes->size, 21);
  EXPECT_EQ(o.center_search.vo.search_radius, 10);
}

TEST(Requests, DefaultsAreTheStructs) {
  const ReconOptions o = options_from_json(recon_fields(), {{"input", "a"}, {"output", "b"}}, {});
  EXPECT_EQ(o.algorithm, "gridrec");
  EXPECT_TRUE(o.center.is_auto());
  EXPECT_FALSE(o.rows.has_value());
  const Json schema = input_schema(recon_fields());
  EXPECT_EQ(schema["properties"]["algorithm"]["default"], "gridrec");
  EXPECT_EQ(schema["properties"]["memory_budget_mib"]["default"], 1024);
  EXPECT_EQ(schema["properties"]["center"]["default"], "auto");
  EXPECT_EQ(schema["required"], Json::array({"input", "output"}));
  EXPECT_EQ(schema["additionalProperties"], false);
}

TEST(Requests, BadRequestsNameTheField) {
  expect_error(
      [] {
        options_from_json(recon_fields(), {{"input", "a"}}, {});
      },
      "tomo.usage.request", {"output", "required"});
  expect_error(
      [] {
        options_from_json(recon_fields(), {{"input", "a"}, {"output", "b"}, {"chunk_row", 3}}, {});
      },
      "tomo.usage.request", {"chunk_row", "not an option"});
  expect_error(
      [] {
        options_from_json(recon_fields(), {{"input", "a"}, {"output", "b"}, {"pad", "two"}}, {});
      },
      "tomo.usage.request", {"pad", "integer"});
  expect_error([] { options_from_json(recon_fields(), Json::array(), {}); }, "tomo.usage.request",
               {"object"});
  expect_error(
      [] {
        options_from_json(find_center_fields(), {{"input", "a"}, {"method", "xx"}}, {});
      },
      "tomo.usage.method", {"xx"});
}

TEST(Requests, CommandLineTextBecomesTypedJson) {
  EXPECT_EQ(json_from_text(FieldType::Integer, "n", "42"), 42);
  EXPECT_EQ(json_from_text(FieldType::Number, "x", "2.5"), 2.5);
  EXPECT_EQ(json_from_text(FieldType::IntegerList, "l", "1,2,3"), Json::array({1, 2, 3}));
  EXPECT_EQ(json_from_text(FieldType::String, "s", "auto"), "auto");
  expect_error([] { json_from_text(FieldType::Integer, "chunk-rows", "8x"); }, "tomo.usage.request",
               {"chunk-rows", "'8x'"});
  expect_error([] { json_from_text(FieldType::IntegerList, "slices", "1,,2"); }, "tomo.usage.request");
}

TEST(Requests, EveryJobHasATable) {
  EXPECT_EQ(options_from_json(phantom_fields(), {{"output", "p.h5"}, {"size", 64}}, {}).size, 64);
  EXPECT_EQ(options_from_json(preview_fields(), {{"input", "r.h5"}, {"output", "p.png"}}, {}).high_percentile,
            99);
  EXPECT_EQ(options_from_json(find_center_fields(), {{"input", "d.h5"}, {"samples", 3}}, {}).search.samples,
            3);
}

}  // namespace
}  // namespace beamflow::jobs
