#include "jobs/models/inference.hpp"

#include <algorithm>

#include "parallel/decomposition.hpp"
#include "jobs/models/errors.hpp"
#include "jobs/models/tensor_h5.hpp"
#include "platform/output_file.hpp"

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
    if (key != "file" && key != "dataset")
      document_error(pointer + "/" + key, "unknown field (expected file, dataset)");
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

InferenceRequest InferenceRequest::from_json(const Json& inputs, const Json& output,
                                             const std::filesystem::path& base, const std::string& pointer) {
  InferenceRequest r;
  if (inputs.is_object())
    r.input_dataset = dataset_ref(inputs, base, pointer);
  else if (inputs.is_array())
    r.inputs = inputs;
  else
    document_error(pointer, "expected a nested array (batch first) or {\"file\": ..., \"dataset\": ...}");
  if (!output.is_null()) {
    Json ref = output;
    if (ref.is_object() && ref.contains("overwrite")) {
      if (!ref["overwrite"].is_boolean()) document_error("/output/overwrite", "must be true or false");
      r.overwrite = ref["overwrite"].get<bool>();
      ref.erase("overwrite");
    }
    r.output = dataset_ref(ref, base, "/output", std::string("/outputs"));
    // The one output rule, before anything is computed.
    std::vector<std::filesystem::path> inputs;
    if (r.input_dataset) inputs.push_back(r.input_dataset->file);
    fs::check_output(r.output->file, {r.overwrite, inputs}, "output");
  }
  return r;
}

Json outputs_json(const Model& model, const Tensor& outputs) {
  Json j = {{"model", model.ref()}, {"outputs", tensor_to_json(outputs)}};
  if (!model.labels().empty()) j["labels"] = model.labels();
  return j;
}

namespace {

Json written(const Model& model, const DatasetRef& out, const Shape& shape) {
  return {{"model", model.ref()},
          {"output", {{"file", out.file.string()}, {"dataset", out.dataset}, {"shape", shape}}}};
}

void annotate(DatasetSink& sink, const Model& model) {
  sink.attribute("model", model.ref());
  if (!model.labels().empty()) sink.attribute("labels", Json(model.labels()).dump());
}

// Rows [range) of the input dataset through the model, `block` rows per
// kernel call.
Tensor evaluate_rows(const Model& model, const DatasetSource& source, const DatasetRef& input,
                     parallel::RowRange range, std::int64_t block) {
  std::vector<Tensor> parts;
  for (const auto& chunk : parallel::chunks_of(range, std::max<std::int64_t>(1, block))) {
    try {
      parts.push_back(model.predict(source.read_rows(chunk.begin, chunk.size(), DType::Float64)));
    } catch (Error& e) {
      e.with("file", input.file.string()).with("dataset", input.dataset);
      if (range.size() > chunk.size())
        e.with("rows", std::to_string(chunk.begin) + ".." + std::to_string(chunk.end - 1));
      throw;
    }
  }
  std::vector<const Tensor*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  return concat_rows(ptrs);
}

// Rank 0 receives every rank's block, in rank order.
Tensor gather_rows(const parallel::Comm& comm, const Tensor& mine, std::int64_t rows) {
  const auto& d = mine.data<double>();
  const long long count = static_cast<long long>(d.size());
  std::vector<long long> counts(static_cast<std::size_t>(comm.size()));
  MPI_Gather(&count, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, 0, comm.mpi());
  Tensor all;
  std::vector<int> sizes, offsets;
  if (comm.is_root()) {
    Shape shape = mine.shape();
    shape[0] = rows;
    all = Tensor(DType::Float64, shape);
    int at = 0;
    for (auto c : counts) {
      sizes.push_back(static_cast<int>(c));
      offsets.push_back(at);
      at += static_cast<int>(c);
    }
  }
  MPI_Gatherv(d.data(), static_cast<int>(count), MPI_DOUBLE,
              comm.is_root() ? all.data<double>().data() : nullptr, sizes.data(), offsets.data(), MPI_DOUBLE,
              0, comm.mpi());
  return all;
}

Json deliver(const Model& model, const InferenceRequest& request, const Tensor& out) {
  if (!request.output) return outputs_json(model, out);
  // Checked again: the file may have appeared while the model ran.
  std::vector<std::filesystem::path> inputs;
  if (request.input_dataset) inputs.push_back(request.input_dataset->file);
  fs::check_output(request.output->file, {request.overwrite, inputs}, "output");
  DatasetSink sink(request.output->file, request.output->dataset, DType::Float64, out.shape());
  annotate(sink, model);
  sink.write_rows(0, out);
  sink.commit();
  return written(model, *request.output, out.shape());
}

// Streams the input dataset through the model in blocks of rows; on several
// ranks each takes one block of the rows.
Json run_dataset(const Model& model, const InferenceRequest& request, const parallel::Comm* comm) {
  const DatasetRef& input = *request.input_dataset;
  if (!comm || comm->size() == 1) {
    const DatasetSource source(input.file, input.dataset);
    if (source.rows() == 0)
      throw input_error("model.input.shape", "the input dataset has no rows",
                        {{"file", input.file.string()}, {"dataset", input.dataset}});
    return deliver(model, request,
                   evaluate_rows(model, source, input, {0, source.rows()}, request.block_rows));
  }
  Tensor mine;
  std::int64_t rows = 0;
  comm->agree([&] {
    const DatasetSource source(input.file, input.dataset);
    rows = source.rows();
    if (rows < comm->size())
      throw input_error("model.input.shape",
                        "the input dataset has " + std::to_string(rows) + " rows, fewer than the " +
                            std::to_string(comm->size()) + " ranks",
                        {{"file", input.file.string()}, {"dataset", input.dataset}});
    mine = cast(evaluate_rows(model, source, input, parallel::block_of(rows, comm->size(), comm->rank()),
                              request.block_rows),
                DType::Float64);
  });
  const Tensor all = gather_rows(*comm, mine, rows);
  Json result;
  comm->agree([&] {
    if (comm->is_root()) result = deliver(model, request, all);
  });
  return result;
}

}  // namespace

Json run_request(const Model& model, const InferenceRequest& request, const parallel::Comm* comm) {
  if (request.input_dataset) return run_dataset(model, request, comm);
  if (comm && !comm->is_root()) return Json();  // JSON inputs are small: rank 0 alone
  return deliver(model, request, model.predict(*request.inputs));
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
