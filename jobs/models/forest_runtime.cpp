#include "jobs/models/forest_runtime.hpp"

#include <cmath>
#include <deque>
#include <limits>

#include "jobs/models/errors.hpp"
#include "kernels/common/error.hpp"
#include "kernels/ml/forest.hpp"

namespace beamflow::models {

namespace kf = kernels::forest;

namespace {

using HostFloats = Kokkos::View<const float**, Kokkos::LayoutRight, Kokkos::HostSpace,
                                Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using HostDoubles =
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

kf::Link link_of(const std::string& link) {
  if (link == "logistic") return kf::Link::Logistic;
  if (link == "exponential_logistic") return kf::Link::ExponentialLogistic;
  if (link == "softmax") return kf::Link::Softmax;
  return kf::Link::Identity;
}

template <class T>
Kokkos::View<const T*> to_device(const std::string& label, const std::vector<T>& host) {
  Kokkos::View<T*> d(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), host.size());
  Kokkos::deep_copy(d, Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                           host.data(), host.size()));
  return d;
}

class ForestRuntime final : public ModelRuntime {
 public:
  ForestRuntime(const ForestFile& f, bool finite_inputs_only) : m_finite_only(finite_inputs_only) {
    ensure_kokkos();
    build(f);
    m_flat_output = f.task == "regression" && f.output_columns() == 1;
    m_signature.method = f.task == "classification" ? "predict_proba" : "predict";
    m_signature.input = {DType::Float32, {std::nullopt, f.n_features}, {}, "feature rows, batch first"};
    m_signature.output.dtype = DType::Float64;
    m_signature.output.shape = {std::nullopt};
    if (!m_flat_output) m_signature.output.shape.emplace_back(f.output_columns());
    m_signature.output.labels = f.classes;
    m_signature.output.description =
        f.task == "classification" ? "class probabilities (predict_proba)" : "predicted values (predict)";
    m_description = {{"layout", kForestLayout},
                     {"layout_version", kForestLayoutVersion},
                     {"opset", kForestLayoutVersion},
                     {"kind", f.kind},
                     {"task", f.task},
                     {"trees", f.n_trees()},
                     {"nodes", f.n_nodes()},
                     {"max_depth", m_max_depth},
                     {"features", f.n_features},
                     {"raw_columns", f.raw_columns},
                     {"aggregation", f.aggregation},
                     {"link", f.link},
                     {"learning_rate", f.learning_rate},
                     {"producer", f.producer}};
  }

  const Signature& signature() const override { return m_signature; }
  Json describe() const override { return m_description; }

  Tensor run(const Tensor& batch) const override {
    check_tensor(m_signature.input, batch, "the input");
    const auto x_host = batch.data<float>();
    const auto rows = static_cast<std::size_t>(batch.shape()[0]);
    const auto features = static_cast<std::size_t>(m_ensemble.n_features);
    for (std::size_t i = 0; m_finite_only && i < x_host.size(); ++i)
      if (!std::isfinite(x_host[i]))
        throw input_error("model.input.nonfinite",
                          "input row " + std::to_string(i / features) + ", feature " +
                              std::to_string(i % features) + " is " +
                              (std::isnan(x_host[i]) ? "NaN" : "infinite or too large for float32") +
                              ": tree ensembles take finite values only, as scikit-learn does");
    const int columns = m_ensemble.output_columns();
    Tensor out(DType::Float64, m_flat_output ? Shape{batch.shape()[0]} : Shape{batch.shape()[0], columns});
    auto x =
        Kokkos::create_mirror_view_and_copy(kernels::MemSpace(), HostFloats(x_host.data(), rows, features));
    Kokkos::View<double**> y(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::forest::out"), rows,
                             static_cast<std::size_t>(columns));
    try {
      kf::predict(m_ensemble, x, y);
    } catch (const kernels::Error& e) {
      // Unreachable after check_tensor and the file's checks; kept typed.
      throw input_error("model.input.shape", e.what());
    }
    Kokkos::deep_copy(HostDoubles(out.data<double>().data(), rows, static_cast<std::size_t>(columns)), y);
    return out;
  }

 private:
  // Lays each tree out breadth-first with the two children of a split
  // adjacent; leaves loop to themselves (kernels/forest.hpp).
  void build(const ForestFile& f) {
    const auto n_values = static_cast<std::size_t>(f.n_values);
    const double scale = f.aggregation == "sum" ? f.learning_rate : 1.0;
    std::vector<kf::Node> nodes(f.n_nodes());
    std::vector<double> values(f.n_nodes() * n_values, 0.0);
    std::vector<std::int32_t> roots, depths;
    std::size_t next = 0;
    struct Pending {
      std::int64_t old_local;
      std::size_t at;
      int depth;
    };
    for (std::size_t t = 0; t < f.n_trees(); ++t) {
      const auto base = static_cast<std::size_t>(f.tree_offsets[t]);
      int depth = 0;
      roots.push_back(static_cast<std::int32_t>(next));
      std::deque<Pending> queue{{0, next++, 0}};
      while (!queue.empty()) {
        const Pending p = queue.front();
        queue.pop_front();
        const std::size_t old = base + static_cast<std::size_t>(p.old_local);
        if (f.left[old] < 0) {
          nodes[p.at] = {std::numeric_limits<float>::infinity(), 0, static_cast<std::int32_t>(p.at)};
          // sklearn adds scale * value (predict_stages); same product here.
          for (std::size_t v = 0; v < n_values; ++v)
            values[p.at * n_values + v] = scale * f.value[old * n_values + v];
          depth = std::max(depth, p.depth);
          continue;
        }
        const std::size_t children = next;
        next += 2;
        nodes[p.at] = {kf::float_threshold(f.threshold[old]), f.feature[old],
                       static_cast<std::int32_t>(children)};
        queue.push_back({f.left[old], children, p.depth + 1});
        queue.push_back({f.right[old], children + 1, p.depth + 1});
      }
      depths.push_back(depth);
      m_max_depth = std::max(m_max_depth, depth);
    }
    nodes.resize(next);  // nodes no split reaches are dropped
    values.resize(next * n_values);
    m_ensemble.nodes = to_device("beamflow::forest::nodes", nodes);
    Kokkos::View<double**> v(Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::forest::values"),
                             next, n_values);
    Kokkos::deep_copy(v,
                      Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace,
                                   Kokkos::MemoryTraits<Kokkos::Unmanaged>>(values.data(), next, n_values));
    m_ensemble.values = v;
    m_ensemble.roots = to_device("beamflow::forest::roots", roots);
    m_ensemble.depths = to_device("beamflow::forest::depths", depths);
    m_ensemble.columns = to_device("beamflow::forest::columns", f.tree_column);
    m_ensemble.init = to_device("beamflow::forest::init", f.init);
    m_ensemble.n_features = static_cast<int>(f.n_features);
    m_ensemble.aggregation = f.aggregation == "sum" ? kf::Aggregation::Sum : kf::Aggregation::Mean;
    m_ensemble.link = link_of(f.link);
  }

  Signature m_signature;
  Json m_description;
  kf::Ensemble m_ensemble;
  int m_max_depth = 0;
  bool m_flat_output = false;
  bool m_finite_only = true;
};

}  // namespace

std::unique_ptr<ModelRuntime> make_forest_runtime(const ForestFile& forest, bool finite_inputs_only) {
  return std::make_unique<ForestRuntime>(forest, finite_inputs_only);
}

std::unique_ptr<ModelRuntime> load_forest_runtime(const std::filesystem::path& file) {
  return make_forest_runtime(read_forest_file(file));
}

}  // namespace beamflow::models
