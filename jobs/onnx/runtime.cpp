#include "jobs/onnx/runtime.hpp"
#include "core/json_parse.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/json.hpp"
#include "jobs/models/errors.hpp"
#include "jobs/onnx/fusion.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::onnx {

namespace nn = kernels::nn;
using models::model_asl::Unsupported;

namespace {

Error dtype_error(const std::string& what) {
  return models::model_error("model.onnx.dtype", Unsupported, what + "; beamflow runs float32 tensors (and int64 shapes)");
}

}  // namespace

Program::Program(Graph graph) : m_graph(std::move(graph)) {
  models::ensure_kokkos();
  for (const ValueInfo& in : m_graph.inputs)
    if (!in.type) throw dtype_error("graph input '" + in.name + "' is " + in.type_name);
  for (const ValueInfo& out : m_graph.outputs)
    if (out.type_name != "FLOAT" && out.type_name != "INT64" && !out.type_name.empty())
      throw dtype_error("graph output '" + out.name + "' is " + out.type_name);
  // Every node compiles (or the load fails) before the first run; then the
  // fused plan is what runs.
  for (const Node& node : m_graph.nodes) compile_node(node, m_graph.opset);
  ExecutionPlan plan = plan_execution(m_graph);
  for (const auto& [name, t] : plan.initializers) {
    if (t.type == ElemType::Float32)
      m_constants.set(name, to_kernel_tensor(t, "onnx::" + name));
    else
      m_constants.set(name, t);
  }
  m_nodes = std::move(plan.nodes);
  m_rows_independent = plan.rows_independent;
  for (const Node& node : m_nodes) m_steps.push_back({&node, compile_planned_node(node, m_graph.opset, m_constants), {}});

  // Intermediate values are dropped after their last reader.
  std::map<std::string, std::size_t> last_read;
  for (std::size_t k = 0; k < m_steps.size(); ++k)
    for (const std::string& in : m_steps[k].node->inputs)
      if (!in.empty()) last_read[in] = k;
  for (const ValueInfo& out : m_graph.outputs) last_read.erase(out.name);
  for (const auto& [name, k] : last_read)
    if (!m_constants.contains(name)) m_steps[k].release.push_back(name);
}

std::vector<Value> Program::execute(std::vector<Value> inputs) const {
  if (inputs.size() != m_graph.inputs.size())
    throw models::input_error("model.input.shape", "the model takes " + std::to_string(m_graph.inputs.size()) +
                                                       " inputs, got " + std::to_string(inputs.size()));
  Values values = m_constants;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const ValueInfo& info = m_graph.inputs[k];
    const bool is_float = inputs[k].is_float();
    if (is_float != (info.type == ElemType::Float32))
      throw models::input_error("model.input.dtype", "input '" + info.name + "' must be " + elem_type_name(*info.type));
    const Dims& shape = is_float ? inputs[k].f.shape : inputs[k].ints->shape;
    bool fits = shape.size() == info.shape.size();
    for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = !info.shape[d] || *info.shape[d] == shape[d];
    if (!fits)
      throw models::input_error("model.input.shape",
                                "input '" + info.name + "' has shape " + nn::dims_string(shape) + ", the model takes " +
                                    [&] {
                                      std::string s = "[";
                                      for (std::size_t d = 0; d < info.shape.size(); ++d)
                                        s += (d ? ", " : "") + (info.shape[d] ? std::to_string(*info.shape[d]) : "null");
                                      return s + "]";
                                    }());
    values.set_value(info.name, std::move(inputs[k]));
  }
  for (const Step& step : m_steps) {
    try {
      step.kernel(values);
    } catch (const kernels::Error& e) {
      // The kernels check extents; a mismatch here means the input's shape
      // does not fit the graph (or the graph is inconsistent).
      throw models::input_error("model.input.shape",
                                "node '" + step.node->name + "' (" + step.node->op_type + "): " + e.message(),
                                {{"node", step.node->name}});
    }
    for (const std::string& name : step.release) values.erase(name);
  }
  std::vector<Value> outputs;
  for (const ValueInfo& out : m_graph.outputs) outputs.push_back(values.at(out.name));
  return outputs;
}

std::vector<HostTensor> Program::run(const std::vector<HostTensor>& inputs) const {
  std::vector<Value> in;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k].type == ElemType::Float32)
      in.push_back(Value{to_kernel_tensor(inputs[k], "onnx::input"), std::nullopt});
    else
      in.push_back(Value{{}, inputs[k]});
  }
  std::vector<HostTensor> out;
  for (const Value& v : execute(std::move(in))) out.push_back(v.is_float() ? to_host_tensor(v.f) : *v.ints);
  return out;
}

namespace {

models::TensorSpec spec_of(const ValueInfo& v, const std::string& description) {
  models::TensorSpec s;
  s.dtype = models::DType::Float32;
  for (std::size_t d = 0; d < v.shape.size(); ++d) s.shape.push_back(d == 0 ? std::nullopt : v.shape[d]);
  s.description = description;
  return s;
}

class OnnxRuntime final : public models::ModelRuntime {
 public:
  explicit OnnxRuntime(Graph graph) : m_program(std::move(graph)) {
    const Graph& g = m_program.graph();
    if (g.inputs.size() != 1 || g.outputs.size() != 1 || g.inputs[0].type != ElemType::Float32 ||
        g.inputs[0].shape.empty() || g.outputs[0].type != ElemType::Float32 || g.outputs[0].shape.empty())
      throw models::model_error("model.onnx.signature", Unsupported,
                                "an ONNX model served by beamflow takes one float32 input and returns one float32 "
                                "output, batch first; this graph has " +
                                    std::to_string(g.inputs.size()) + " inputs and " + std::to_string(g.outputs.size()) +
                                    " outputs");
    m_signature.method = "predict";
    m_signature.input = spec_of(g.inputs[0], "network input '" + g.inputs[0].name + "'");
    m_signature.output = spec_of(g.outputs[0], "network output '" + g.outputs[0].name + "'");
    // Labels recorded in the file by tools/export_torch.py (metadata_props).
    if (auto it = g.metadata.find("labels"); it != g.metadata.end()) {
      const Json labels = try_parse_json(it->second).value_or(Json());
      if (labels.is_array())
        for (const Json& l : labels)
          if (l.is_string()) m_signature.output.labels.push_back(l.get<std::string>());
    }
    std::map<std::string, int> ops;
    for (const Node& n : g.nodes) ++ops[n.op_type];
    Json metadata = Json::object();
    for (const auto& [k, v] : g.metadata) metadata[k] = v;
    m_description = {{"opset", g.opset},      {"producer", g.producer},  {"graph", g.name},
                     {"nodes", g.nodes.size()}, {"operators", ops},      {"initializers", g.initializers.size()},
                     {"metadata_props", metadata}};
  }

  const models::Signature& signature() const override { return m_signature; }
  Json describe() const override { return m_description; }

  models::Tensor run(const models::Tensor& batch) const override {
    models::check_tensor(m_signature.input, batch, "the input");
    const auto x = batch.data<float>();
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i]))
        throw models::input_error("model.input.nonfinite",
                                  "input element " + std::to_string(i) + " (row " +
                                      std::to_string(static_cast<std::int64_t>(i) / batch.row_size()) + ") is " +
                                      (std::isnan(x[i]) ? "NaN" : "infinite") +
                                      ": a network would spread it through the whole output");
    // The kernels gain nothing from a batch (they parallelise over
    // positions within an image), while a whole batch's activations fall out
    // of cache between layers: run image by image when the graph allows.
    const std::int64_t rows = batch.shape()[0];
    const std::int64_t step = m_program.rows_independent() ? 1 : std::max<std::int64_t>(rows, 1);
    models::Tensor out;
    for (std::int64_t r0 = 0; r0 < rows || (rows == 0 && r0 == 0); r0 += step) {
      const std::int64_t n = std::min(step, rows - r0);
      models::Shape shape = batch.shape();
      shape[0] = n;
      nn::Tensor in = nn::Tensor::allocate("onnx::input", shape);
      Kokkos::deep_copy(in.data, Kokkos::View<const float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                     x.data() + r0 * batch.row_size(), n * batch.row_size()));
      std::vector<Value> outs = m_program.execute({Value{in, std::nullopt}});
      const nn::Tensor& y = outs.at(0).f;
      if (y.shape.empty() || y.shape[0] != n)
        throw models::input_error("model.input.shape", "the network returned " + nn::dims_string(y.shape) +
                                                           " for a batch of " + std::to_string(n));
      if (r0 == 0) {
        models::Shape full = y.shape;
        full[0] = rows;
        out = models::Tensor(models::DType::Float32, full);
      }
      auto host = out.data<float>();
      Kokkos::deep_copy(Kokkos::View<float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                            host.data() + r0 * y.size() / std::max<std::int64_t>(n, 1), y.size()),
                        Kokkos::subview(y.data, std::make_pair<std::int64_t, std::int64_t>(0, y.size())));
      if (rows == 0) break;
    }
    return out;
  }

 private:
  Program m_program;
  models::Signature m_signature;
  Json m_description;
};

}  // namespace

std::unique_ptr<models::ModelRuntime> make_onnx_runtime(Graph graph) {
  return std::make_unique<OnnxRuntime>(std::move(graph));
}

std::unique_ptr<models::ModelRuntime> load_onnx_runtime(const std::filesystem::path& file) {
  return make_onnx_runtime(load_graph(file));
}

}  // namespace beamflow::onnx
