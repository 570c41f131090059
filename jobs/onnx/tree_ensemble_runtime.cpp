// The ModelRuntime of format "onnx-ml": the forest runtime on the translated
// ensemble, then ONNX-ML's aggregation, base values and post-transform per
// row (cheap next to the trees, so on the host).
#include <cmath>
#include <fstream>
#include <limits>

#include <onnx/onnx_pb.h>

#include "jobs/models/errors.hpp"
#include "jobs/models/forest_runtime.hpp"
#include "jobs/onnx/tree_ensemble.hpp"

namespace beamflow::onnx {

namespace {

const char* name_of(PostTransform p) {
  switch (p) {
    case PostTransform::None: return "NONE";
    case PostTransform::Logistic: return "LOGISTIC";
    case PostTransform::Softmax: return "SOFTMAX";
    case PostTransform::SoftmaxZero: return "SOFTMAX_ZERO";
  }
  return "?";
}

const char* name_of(TreeAggregate a) {
  switch (a) {
    case TreeAggregate::Sum: return "SUM";
    case TreeAggregate::Average: return "AVERAGE";
    case TreeAggregate::Min: return "MIN";
    case TreeAggregate::Max: return "MAX";
  }
  return "?";
}

// Softmax over the row; with `skip_zeros` (SOFTMAX_ZERO) a score of exactly
// 0 stays 0 and takes no part, as the ONNX-ML specification says.
void softmax(double* v, std::int64_t n, bool skip_zeros) {
  double top = -std::numeric_limits<double>::infinity();
  for (std::int64_t c = 0; c < n; ++c)
    if (!(skip_zeros && v[c] == 0.0)) top = std::max(top, v[c]);
  double sum = 0;
  for (std::int64_t c = 0; c < n; ++c)
    if (!(skip_zeros && v[c] == 0.0)) sum += (v[c] = std::exp(v[c] - top));
  if (sum > 0)
    for (std::int64_t c = 0; c < n; ++c) v[c] /= sum;
}

class TreeEnsembleRuntime final : public models::ModelRuntime {
 public:
  explicit TreeEnsembleRuntime(TreeEnsemble e)
      : m_e(std::move(e)), m_forest(models::make_forest_runtime(m_e.forest, /*finite_inputs_only=*/false)) {
    m_signature.method = m_e.classifier ? "predict_proba" : "predict";
    m_signature.input = {models::DType::Float32, {std::nullopt, m_e.n_inputs}, {}, "feature rows, batch first"};
    m_signature.output = {models::DType::Float64, {std::nullopt, m_e.columns}, m_e.forest.classes,
                          m_e.classifier ? "class scores after post_transform (the ONNX-ML probabilities output)"
                                         : "predicted targets"};
    m_description = m_forest->describe();
    m_description["layout"] = "onnx-ml";
    m_description["operator"] = m_e.classifier ? "TreeEnsembleClassifier" : "TreeEnsembleRegressor";
    m_description["onnx_nodes"] = m_e.onnx_nodes;
    m_description["features"] = m_e.n_inputs;
    m_description["negated_features"] = m_e.negated_features;
    m_description["post_transform"] = name_of(m_e.post_transform);
    m_description["aggregate_function"] = name_of(m_e.aggregate);
    m_description.erase("learning_rate");
    m_description.erase("link");
    m_description.erase("aggregation");
  }

  const models::Signature& signature() const override { return m_signature; }
  Json describe() const override { return m_description; }

  models::Tensor run(const models::Tensor& batch) const override {
    models::check_tensor(m_signature.input, batch, "the input");
    const std::int64_t rows = batch.shape()[0], f = m_e.n_inputs;
    models::Tensor raw;
    if (m_e.negated_features) {
      models::Tensor wide(models::DType::Float32, {rows, 2 * f});
      const auto x = batch.data<float>();
      auto w = wide.data<float>();
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < f; ++c) {
          const float v = x[static_cast<std::size_t>(r * f + c)];
          w[static_cast<std::size_t>(r * 2 * f + c)] = v;
          w[static_cast<std::size_t>(r * 2 * f + f + c)] = -v;  // exact; NaN stays NaN
        }
      raw = m_forest->run(wide);
    } else {
      raw = m_forest->run(batch);
    }
    return finish(raw, rows);
  }

 private:
  models::Tensor finish(const models::Tensor& raw, std::int64_t rows) const {
    const std::int64_t columns = m_e.columns;
    const auto in = raw.data<double>();
    models::Tensor out(models::DType::Float64, {rows, columns});
    auto y = out.data<double>();
    const auto raw_columns = static_cast<std::size_t>(m_e.forest.raw_columns);
    const auto trees = static_cast<std::int64_t>(m_e.forest.n_trees());
    for (std::int64_t r = 0; r < rows; ++r) {
      const double* s = &in[static_cast<std::size_t>(r) * raw_columns];
      double* v = &y[static_cast<std::size_t>(r * columns)];
      for (std::int64_t c = 0; c < columns; ++c) {
        double score = s[c];
        if (m_e.aggregate == TreeAggregate::Average) score /= static_cast<double>(trees);
        if (m_e.aggregate == TreeAggregate::Min || m_e.aggregate == TreeAggregate::Max) {
          // Per-tree columns; NaN marks a leaf without a weight for c.
          score = std::numeric_limits<double>::quiet_NaN();
          for (std::int64_t t = 0; t < trees; ++t) {
            const double u = s[t * columns + c];
            if (std::isnan(u)) continue;
            if (std::isnan(score) || (m_e.aggregate == TreeAggregate::Min ? u < score : u > score)) score = u;
          }
          if (std::isnan(score)) score = 0.0;
        }
        v[c] = score + (m_e.base_values.empty() ? 0.0 : m_e.base_values[static_cast<std::size_t>(c)]);
      }
      switch (m_e.post_transform) {
        case PostTransform::None: break;
        case PostTransform::Logistic:
          for (std::int64_t c = 0; c < columns; ++c) v[c] = 1.0 / (1.0 + std::exp(-v[c]));
          break;
        case PostTransform::Softmax: softmax(v, columns, false); break;
        case PostTransform::SoftmaxZero: softmax(v, columns, true); break;
      }
    }
    return out;
  }

  TreeEnsemble m_e;
  std::unique_ptr<models::ModelRuntime> m_forest;
  models::Signature m_signature;
  Json m_description;
};

}  // namespace

bool is_onnx_ml_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  ::onnx::ModelProto m;
  std::ifstream in(file, std::ios::binary);
  if (!m.ParseFromIstream(&in) || !m.has_graph() || m.ir_version() <= 0) return false;
  for (const auto& n : m.graph().node())
    if (n.domain() == "ai.onnx.ml" && (n.op_type() == "TreeEnsembleClassifier" || n.op_type() == "TreeEnsembleRegressor"))
      return true;
  return false;
}

std::unique_ptr<models::ModelRuntime> make_tree_ensemble_runtime(TreeEnsemble ensemble) {
  return std::make_unique<TreeEnsembleRuntime>(std::move(ensemble));
}

std::unique_ptr<models::ModelRuntime> load_tree_ensemble_runtime(const std::filesystem::path& file) {
  return make_tree_ensemble_runtime(translate_tree_ensemble(load_graph(file), file.string()));
}

}  // namespace beamflow::onnx
