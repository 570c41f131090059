#include "jobs/onnx/fusion.hpp"

#include <cmath>
#include <optional>
#include <set>

namespace beamflow::onnx {

namespace {

// Who reads each value: node indices, plus a marker for graph outputs.
class Readers {
 public:
  explicit Readers(const Graph& g) {
    for (std::size_t k = 0; k < g.nodes.size(); ++k)
      for (const std::string& in : g.nodes[k].inputs)
        if (!in.empty()) m_readers[in].push_back(k);
    for (const ValueInfo& out : g.outputs) m_outputs.insert(out.name);
  }
  // The one node reading `value`, when exactly one does and it is not a
  // graph output (so fusing the value away hides it from nobody).
  std::optional<std::size_t> sole_reader(const std::string& value) const {
    auto it = m_readers.find(value);
    if (m_outputs.count(value) || it == m_readers.end() || it->second.size() != 1) return std::nullopt;
    return it->second.front();
  }

 private:
  std::map<std::string, std::vector<std::size_t>> m_readers;
  std::set<std::string> m_outputs;
};

bool is_op(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

const HostTensor* float_initializer(const Graph& g, const std::string& name) {
  auto it = g.initializers.find(name);
  return it != g.initializers.end() && it->second.type == ElemType::Float32 ? &it->second : nullptr;
}

// Folds `bn` into the conv's weights and bias (new initializers named
// after the BatchNormalization node); false when the pair does not qualify.
bool fold_batch_norm(const Graph& g, Node& conv, const Node& bn, std::map<std::string, HostTensor>& out) {
  for (const auto& [name, a] : bn.attributes)
    if (name != "epsilon" && name != "momentum" && !((name == "training_mode" || name == "spatial" || name == "is_test") &&
                                                     a.kind == Attribute::Kind::Int && a.i == (name == "training_mode" ? 0 : 1)))
      return false;
  if (bn.inputs.size() != 5 || bn.outputs.size() != 1) return false;
  const HostTensor* w = float_initializer(g, conv.inputs[1]);
  const HostTensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? float_initializer(g, conv.inputs[2]) : nullptr;
  if (!w || w->shape.empty() || (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !b)) return false;
  const std::int64_t m = w->shape[0];
  const HostTensor* p[4];
  for (int k = 0; k < 4; ++k) {
    p[k] = float_initializer(g, bn.inputs[k + 1]);
    if (!p[k] || p[k]->size() != m) return false;
  }
  if (b && b->size() != m) return false;
  auto eps_it = bn.attributes.find("epsilon");
  const double eps = eps_it != bn.attributes.end() ? eps_it->second.f : 1e-5;
  HostTensor w2 = *w, b2;
  b2.shape = {m};
  b2.f.resize(static_cast<std::size_t>(m));
  const std::int64_t per_filter = m ? w->size() / m : 0;
  for (std::int64_t f = 0; f < m; ++f) {
    const double a = double(p[0]->f[f]) / std::sqrt(double(p[3]->f[f]) + eps);
    for (std::int64_t k = 0; k < per_filter; ++k) w2.f[f * per_filter + k] = float(double(w->f[f * per_filter + k]) * a);
    b2.f[f] = float(((b ? double(b->f[f]) : 0.0) - double(p[2]->f[f])) * a + double(p[1]->f[f]));
  }
  const std::string w_name = conv.inputs[1] + "#folded:" + bn.name, b_name = w_name + ":bias";
  out[w_name] = std::move(w2);
  out[b_name] = std::move(b2);
  conv.inputs.resize(3);
  conv.inputs[1] = w_name;
  conv.inputs[2] = b_name;
  return true;
}

std::int64_t int_attribute(const Node& n, const char* name, std::int64_t fallback) {
  auto it = n.attributes.find(name);
  return it != n.attributes.end() && it->second.kind == Attribute::Kind::Int ? it->second.i : fallback;
}

// See ExecutionPlan::rows_independent; `opset` picks Softmax's semantics.
bool row_wise(const Node& n, const std::map<std::string, HostTensor>& constants, std::int64_t opset) {
  // A constant operand touches no batch row beyond its own when its
  // leading extent is 1 (or it is a scalar).
  const auto batch_free_constant = [&](const std::string& name) {
    auto it = constants.find(name);
    return it != constants.end() && (it->second.shape.empty() || it->second.shape[0] == 1);
  };
  if (n.domain == kFusedDomain) return n.op_type == kFusedConv;
  if (!n.domain.empty()) return false;
  static const std::set<std::string> always = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu",
                                               "LeakyRelu", "Sigmoid", "Tanh", "BatchNormalization", "Identity"};
  if (always.count(n.op_type)) return true;
  if (n.op_type == "Flatten") return int_attribute(n, "axis", 1) >= 1;
  if (n.op_type == "Softmax") return int_attribute(n, "axis", opset >= 13 ? -1 : 1) >= 1;
  if (n.op_type == "Gemm")
    return int_attribute(n, "transA", 0) == 0 && constants.count(n.inputs.at(1)) &&
           (n.inputs.size() < 3 || n.inputs[2].empty() || batch_free_constant(n.inputs[2]) ||
            (constants.count(n.inputs[2]) && constants.at(n.inputs[2]).shape.size() < 2));
  if (n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div") {
    for (const std::string& in : n.inputs)
      if (constants.count(in) && !batch_free_constant(in)) return false;
    return true;
  }
  return false;
}

}  // namespace

ExecutionPlan plan_execution(const Graph& g) {
  const Readers readers(g);
  std::vector<std::optional<Node>> slots(g.nodes.begin(), g.nodes.end());
  std::vector<bool> taken(g.nodes.size(), false);  // absorbed into a chain
  std::map<std::string, HostTensor> folded;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    if (taken[k] || !is_op(g.nodes[k], "Conv") || g.nodes[k].inputs.size() < 2) continue;
    Node conv = g.nodes[k];
    std::string out = conv.outputs.at(0);
    std::size_t last = k;
    // The next node of the chain, unless another chain took it already
    // (an Add of two conv outputs joins the first conv's chain).
    const auto follower = [&](const std::string& value) {
      std::optional<std::size_t> r = readers.sole_reader(value);
      return r && !taken[*r] ? r : std::nullopt;
    };
    std::optional<std::size_t> next = follower(out);
    if (next && is_op(g.nodes[*next], "BatchNormalization") && g.nodes[*next].inputs[0] == out &&
        fold_batch_norm(g, conv, g.nodes[*next], folded)) {
      taken[*next] = true;
      slots[*next].reset();
      last = *next;
      out = g.nodes[last].outputs[0];
      next = follower(out);
    }
    std::string residual;
    if (next && is_op(g.nodes[*next], "Add") && g.nodes[*next].inputs.size() == 2) {
      const Node& add = g.nodes[*next];
      const std::string& other = add.inputs[0] == out ? add.inputs[1] : add.inputs[0];
      // A constant addend usually broadcasts ([C][1][1]); only values of
      // the conv's own shape are fused, and the kernel falls back when not.
      if (other != out && !g.initializers.count(other)) {
        residual = other;
        taken[*next] = true;
        slots[*next].reset();
        last = *next;
        out = add.outputs[0];
        next = follower(out);
      }
    }
    std::string activation = "Identity";
    float alpha = 0.01f;
    if (next && (is_op(g.nodes[*next], "Relu") || is_op(g.nodes[*next], "LeakyRelu"))) {
      const Node& act = g.nodes[*next];
      activation = act.op_type;
      if (auto a = act.attributes.find("alpha"); a != act.attributes.end()) alpha = a->second.f;
      taken[*next] = true;
      slots[*next].reset();
      last = *next;
      out = act.outputs[0];
    }
    if (last == k && conv.inputs == g.nodes[k].inputs) continue;  // nothing fused
    slots[k].reset();
    if (last != k && (!residual.empty() || activation != "Identity")) {
      conv.domain = kFusedDomain;
      conv.op_type = kFusedConv;
      conv.inputs.resize(3);
      conv.inputs.push_back(residual);
      Attribute a;
      a.kind = Attribute::Kind::String;
      a.s = activation;
      conv.attributes["activation"] = a;
      a.kind = Attribute::Kind::Float;
      a.f = alpha;
      conv.attributes["alpha"] = a;
    }
    conv.outputs = {out};
    slots[last] = std::move(conv);  // where every input it reads exists
  }
  ExecutionPlan plan;
  for (auto& s : slots)
    if (s) plan.nodes.push_back(std::move(*s));
  for (const Node& n : plan.nodes)
    for (const std::string& in : n.inputs) {
      if (auto f = folded.find(in); f != folded.end()) plan.initializers[in] = f->second;
      else if (auto i = g.initializers.find(in); i != g.initializers.end()) plan.initializers[in] = i->second;
    }
  plan.rows_independent = true;
  for (const Node& n : plan.nodes) plan.rows_independent = plan.rows_independent && row_wise(n, plan.initializers, g.opset);
  return plan;
}

}  // namespace beamflow::onnx
