#include "jobs/models/inference.hpp"

#include <algorithm>

#include "jobs/models/errors.hpp"
#include "jobs/models/tensor_h5.hpp"

namespace beamflow::models {

namespace {
[[noreturn]] void document_error(const std::string& pointer, const std::string& what) {
  throw input_error("model.input.document", pointer + ": " + what);
}
}  // namespace

DatasetRef dataset_ref(const Json& j, const std::filesystem::path& base, const std::string& pointer,
                       const std::optional<std::string>& default_dataset) {
  if (!j.is_object()) document_error(pointer, "expected {\"file\": ..., \"dataset\": ...}");
  for (const auto& [key, value] : j.items())
    if (key != "file" && key != "dataset") document_error(pointer + "/" + key, "unknown field (expected file, dataset)");
  const auto file = j.find("file");
  if (file == j.end() || !file->is_string() || file->get<std::string>().empty())
    document_error(pointer + "/file", "must be a file path");
  DatasetRef ref;
  ref.file = file->get<std::string>();
  if (ref.file.is_relative()) ref.file = base / ref.file;
  const auto dataset = j.find("dataset");
  if (dataset == j.end() && default_dataset) {
    ref.dataset = *default_dataset;
  } else if (dataset == j.end() || !dataset->is_string() || dataset->get<std::string>().empty()) {
    document_error(pointer + "/dataset", "must be a dataset path inside the file");
  } else {
    ref.dataset = dataset->get<std::string>();
  }
  return ref;
}

InferenceRequest InferenceRequest::from_json(const Json& inputs, const Json& output, const std::filesystem::path& base,
                                             const std::string& pointer) {
  InferenceRequest r;
  if (inputs.is_object()) r.input_dataset = dataset_ref(inputs, base, pointer);
  else if (inputs.is_array()) r.inputs = inputs;
  else document_error(pointer, "expected a nested array (batch first) or {\"file\": ..., \"dataset\": ...}");
  if (!output.is_null()) r.output = dataset_ref(output, base, "/output", std::string("/outputs"));
  return r;
}

Json outputs_json(const Model& model, const Tensor& outputs) {
  Json j = {{"model", model.ref()}, {"outputs", tensor_to_json(outputs)}};
  if (!model.labels().empty()) j["labels"] = model.labels();
  return j;
}

namespace {

Json written(const Model& model, const DatasetRef& out, const Shape& shape) {
  return {{"model", model.ref()}, {"output", {{"file", out.file.string()}, {"dataset", out.dataset}, {"shape", shape}}}};
}

void annotate(DatasetSink& sink, const Model& model) {
  sink.attribute("model", model.ref());
  if (!model.labels().empty()) sink.attribute("labels", Json(model.labels()).dump());
}

// Streams the input dataset through the model in blocks of rows.
Json run_dataset(const Model& model, const InferenceRequest& request) {
  const DatasetSource source(request.input_dataset->file, request.input_dataset->dataset);
  const std::int64_t rows = source.rows();
  if (rows == 0)
    throw input_error("model.input.shape", "the input dataset has no rows",
                      {{"file", request.input_dataset->file.string()}, {"dataset", request.input_dataset->dataset}});
  const std::int64_t block = std::max<std::int64_t>(1, request.block_rows);
  std::optional<DatasetSink> sink;
  std::vector<Tensor> parts;
  Shape out_shape;
  for (std::int64_t first = 0; first < rows; first += block) {
    const std::int64_t count = std::min(block, rows - first);
    Tensor out;
    try {
      out = model.predict(source.read_rows(first, count, DType::Float64));
    } catch (Error& e) {
      e.with("file", request.input_dataset->file.string()).with("dataset", request.input_dataset->dataset);
      if (first > 0) e.with("rows", std::to_string(first) + ".." + std::to_string(first + count - 1));
      throw;
    }
    if (first == 0) {
      out_shape = out.shape();
      out_shape[0] = rows;
      if (request.output) {
        sink.emplace(request.output->file, request.output->dataset, DType::Float64, out_shape);
        annotate(*sink, model);
      }
    }
    if (sink) sink->write_rows(first, out);
    else parts.push_back(std::move(out));
  }
  if (sink) {
    sink->commit();
    return written(model, *request.output, out_shape);
  }
  std::vector<const Tensor*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  return outputs_json(model, concat_rows(ptrs));
}

}  // namespace

Json run_request(const Model& model, const InferenceRequest& request) {
  if (request.input_dataset) return run_dataset(model, request);
  const Tensor out = model.predict(*request.inputs);
  if (!request.output) return outputs_json(model, out);
  DatasetSink sink(request.output->file, request.output->dataset, DType::Float64, out.shape());
  annotate(sink, model);
  sink.write_rows(0, out);
  sink.commit();
  return written(model, *request.output, out.shape());
}

std::vector<BatchResult> run_batch(const Model& model, const std::vector<const Json*>& inputs) {
  std::vector<BatchResult> results(inputs.size());
  std::vector<Tensor> prepared(inputs.size());
  std::vector<std::size_t> good;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    try {
      prepared[i] = model.prepare(*inputs[i]);
      good.push_back(i);
    } catch (const Error& e) {
      results[i].error = e;
    }
  }
  if (good.empty()) return results;
  std::vector<const Tensor*> parts;
  for (auto i : good) parts.push_back(&prepared[i]);
  try {
    const Tensor all = model.run(concat_rows(parts));
    std::int64_t at = 0;
    for (auto i : good) {
      const std::int64_t n = prepared[i].shape()[0];
      results[i].outputs = outputs_json(model, all.rows(at, n));
      at += n;
    }
  } catch (const Error&) {
    // A value one request carries (a NaN) fails the whole batch: run each
    // alone so only that request fails.
    for (auto i : good) {
      try {
        results[i].outputs = outputs_json(model, model.run(prepared[i]));
      } catch (const Error& e) {
        results[i].error = e;
      }
    }
  }
  return results;
}

}  // namespace beamflow::models
