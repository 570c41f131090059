// Tensors from and to JSON, signatures, and the shape and dtype checks.
#include "jobs/models/tensor.hpp"

#include <cmath>

#include "jobs/models/semver.hpp"
#include "model_test_support.hpp"

namespace beamflow::models {
namespace {

using testing::expect_error;

TEST(Tensor, NestedJsonBecomesABatchFirstTensorAndBack) {
  const Tensor t = tensor_from_json(Json::parse("[[1, 2.5, -3], [4, 5, 6e-3]]"), DType::Float32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.data<float>()[1], 2.5f);
  EXPECT_EQ(t.data<float>()[5], static_cast<float>(6e-3));
  EXPECT_EQ(tensor_to_json(cast(t, DType::Float64))[1][2], static_cast<double>(static_cast<float>(6e-3)));
  const Tensor d = tensor_from_json(Json::parse("[0.1, 0.2]"), DType::Float64);
  EXPECT_EQ(tensor_to_json(d).dump(), "[0.1,0.2]");  // round-trip precision
}

TEST(Tensor, RaggedNestingNamesTheOffendingElement) {
  expect_error([] { tensor_from_json(Json::parse("[[1, 2], [3]]"), DType::Float32); }, "model.input.shape",
               {"/inputs/1", "expected an array of 2 elements, got 1 elements", "ragged"});
  expect_error([] { tensor_from_json(Json::parse("[[1, 2], 3]"), DType::Float32); }, "model.input.shape",
               {"/inputs/1", "got number"});
}

TEST(Tensor, NonNumbersAreDtypeErrorsWithTheirPointer) {
  expect_error([] { tensor_from_json(Json::parse("[[1, \"2\"]]"), DType::Float32); }, "model.input.dtype",
               {"/inputs/0/1", "expected a number, got string"});
  expect_error([] { tensor_from_json(Json::parse("[[1, null]]"), DType::Float32); }, "model.input.dtype",
               {"/inputs/0/1", "got null"});
  expect_error([] { tensor_from_json(Json::parse("[true]"), DType::Float64, "/x"); }, "model.input.dtype",
               {"/x/0", "got boolean"});
}

TEST(Tensor, EmptyScalarAndTooDeepInputsAreRefused) {
  expect_error([] { tensor_from_json(Json::parse("[]"), DType::Float32); }, "model.input.shape",
               {"no elements"});
  expect_error([] { tensor_from_json(Json::parse("[[]]"), DType::Float32); }, "model.input.shape",
               {"[1, 0]"});
  expect_error([] { tensor_from_json(Json(3.0), DType::Float32); }, "model.input.shape",
               {"nested array", "got number"});
  expect_error([] { tensor_from_json(Json::parse("[[[[[[[[[1]]]]]]]]]"), DType::Float32); },
               "model.input.shape", {"deeper than 8"});
}

TEST(Tensor, SpecsAcceptMatchingShapesAndNameTheMismatch) {
  const TensorSpec spec =
      TensorSpec::from_json(Json::parse(R"({"type":"ndarray","dtype":"float32","shape":[null,3]})"), "/in");
  EXPECT_TRUE(spec.accepts({7, 3}));
  EXPECT_FALSE(spec.accepts({7, 4}));
  EXPECT_FALSE(spec.accepts({7}));
  expect_error(
      [&] {
        check_tensor(spec, Tensor(DType::Float32, {2, 4}), "the input");
      },
      "model.input.shape", {"the input has shape [2, 4], the model takes [null, 3]"});
  expect_error(
      [&] {
        check_tensor(spec, Tensor(DType::Float64, {2, 3}), "the input");
      },
      "model.input.dtype", {"float64", "the model takes float32"});
  EXPECT_EQ(spec.to_json()["shape"], Json::parse("[null, 3]"));
}

TEST(Tensor, BadSpecsNameTheirField) {
  expect_error([] { TensorSpec::from_json(Json::parse(R"({"type":"ndarray","shape":[null,0]})"), "/o"); },
               "model.metadata.invalid", {"/o/shape/1"});
  expect_error(
      [] { TensorSpec::from_json(Json::parse(R"({"type":"ndarray","dtype":"int8","shape":[3]})"), "/o"); },
      "model.metadata.invalid", {"/o/dtype"});
  expect_error([] { TensorSpec::from_json(Json::parse(R"({"type":"string"})"), "/o"); },
               "model.metadata.invalid", {"/o/type"});
}

TEST(Tensor, RowsAndConcatenationRoundTrip) {
  const Tensor t = tensor_from_json(Json::parse("[[1,2],[3,4],[5,6]]"), DType::Float64);
  const Tensor a = t.rows(0, 1), b = t.rows(1, 2);
  EXPECT_EQ(tensor_to_json(concat_rows({&a, &b})), tensor_to_json(t));
  const Tensor c(DType::Float64, {1, 3});
  expect_error([&] { concat_rows({&a, &c}); }, "model.input.shape", {"batched inputs disagree"});
}

TEST(SemVer, ParsesAndOrdersBySemverPrecedence) {
  EXPECT_FALSE(SemVer::parse("1.0"));
  EXPECT_FALSE(SemVer::parse("01.0.0"));
  EXPECT_FALSE(SemVer::parse("1.0.0+build"));
  EXPECT_FALSE(SemVer::parse("1.0.0-"));
  EXPECT_FALSE(SemVer::parse("1.0.0-01"));
  const char* ascending[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                             "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                             "1.0.0-rc.1",  "1.0.0",         "1.2.0",
                             "1.10.0",      "2.0.0"};
  for (std::size_t i = 0; i + 1 < std::size(ascending); ++i) {
    SCOPED_TRACE(ascending[i]);
    EXPECT_LT(*SemVer::parse(ascending[i]), *SemVer::parse(ascending[i + 1]));
  }
}

}  // namespace
}  // namespace beamflow::models
