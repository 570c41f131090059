#pragma once
// Running a model on a request, shared by `beamflow model run` and the
// `infer` action: inputs as JSON (nested arrays or preprocessing documents)
// or an HDF5 dataset streamed in blocks of rows; outputs as JSON or a new
// HDF5 dataset (the file appears complete or not at all).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "parallel/comm.hpp"
#include "jobs/models/model.hpp"

namespace beamflow::models {

struct DatasetRef {
  std::filesystem::path file;
  std::string dataset;
  Json to_json() const { return {{"file", file.string()}, {"dataset", dataset}}; }
};

// {"file": F, "dataset": D} with a relative F resolved against `base`.
// Throws model.input.document naming `pointer` (the output's dataset
// defaults to `default_dataset` when given).
DatasetRef dataset_ref(const Json& j, const std::filesystem::path& base, const std::string& pointer,
                       const std::optional<std::string>& default_dataset = std::nullopt);

// What a request asks for: inputs (a JSON value or an HDF5 dataset) and,
// optionally, where the outputs go.
struct InferenceRequest {
  std::optional<Json> inputs;
  std::optional<DatasetRef> input_dataset;
  std::optional<DatasetRef> output;
  // Replace an existing output file (platform/output_file.hpp: otherwise an
  // existing file is refused, and an output that is the input always is).
  bool overwrite = false;
  std::int64_t block_rows = 65536;  // rows per kernel call when streaming HDF5

  // `inputs` is a nested array (or preprocessing documents) or
  // {"file", "dataset"}; `output` (may be null) is {"file"[, "dataset"][,
  // "overwrite": true]}. Checks the output against the one output rule.
  static InferenceRequest from_json(const Json& inputs, const Json& output, const std::filesystem::path& base,
                                    const std::string& pointer = "/inputs");
  bool batchable() const { return inputs && !output; }
};

// {"model": NAME@VERSION, "outputs": [...], "labels": [...]} or, with an
// output dataset, {"model", "output": {"file", "dataset", "shape"}}.
//
// With `comm` (a job launched on several MPI ranks), an HDF5 input is split
// into one block of rows per rank, each rank evaluates its block, and rank 0
// gathers the outputs and writes or returns them (the other ranks return
// null). Collective: every rank calls it; an error on any rank is raised on
// every rank.
Json run_request(const Model& model, const InferenceRequest& request, const parallel::Comm* comm = nullptr);

// The outputs of several JSON requests to one model evaluated as one batch
// (one kernel call). Each request's inputs are prepared on their own, so a
// bad one fails alone: results[i] holds outputs or the request's Error.
struct BatchResult {
  std::optional<Json> outputs;
  std::optional<Error> error;
};
std::vector<BatchResult> run_batch(const Model& model, const std::vector<const Json*>& inputs);

// The JSON result of a request from its output tensor.
Json outputs_json(const Model& model, const Tensor& outputs);

}  // namespace beamflow::models
