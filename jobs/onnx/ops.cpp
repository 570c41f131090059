#include "jobs/onnx/ops.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "jobs/models/errors.hpp"
#include "jobs/onnx/fusion.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::onnx {

namespace nn = kernels::nn;
using models::model_asl::Unsupported;

// ---- values ---------------------------------------------------------------

const Value& Values::at(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) throw std::logic_error("onnx value '" + name + "' read before it is produced");
  return it->second;
}

const nn::Tensor& Values::tensor(const std::string& name) const {
  const Value& v = at(name);
  if (!v.is_float())
    throw models::input_error("model.input.dtype", "value '" + name + "' is int64 where float32 is needed");
  return v.f;
}

const HostTensor& Values::ints(const std::string& name) const {
  const Value& v = at(name);
  if (v.is_float())
    throw models::input_error("model.input.dtype", "value '" + name + "' is float32 where int64 is needed");
  return *v.ints;
}

nn::Tensor to_kernel_tensor(const HostTensor& h, const std::string& label) {
  nn::Tensor t = nn::Tensor::allocate(label, h.shape);
  Kokkos::deep_copy(t.data, Kokkos::View<const float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                h.f.data(), h.f.size()));
  return t;
}

HostTensor to_host_tensor(const nn::Tensor& t) {
  HostTensor h;
  h.shape = t.shape;
  h.f.resize(static_cast<std::size_t>(t.size()));
  Kokkos::deep_copy(Kokkos::View<float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(h.f.data(), h.f.size()),
                    Kokkos::subview(t.data, std::make_pair<std::int64_t, std::int64_t>(0, t.size())));
  return h;
}

namespace {

// ---- reading a node -------------------------------------------------------

// A node being compiled: typed attribute access with defaults, recording
// which attributes were read so that any other one is refused afterwards.
class NodeReader {
 public:
  NodeReader(const Node& node, std::int64_t opset, const Values* constants)
      : m_node(node), m_opset(opset), m_constants(constants) {}

  const Node& node() const { return m_node; }
  std::int64_t opset() const { return m_opset; }
  // The float initializer `name`, when the program's constants are known
  // and hold it (operators prepare such inputs once, at load).
  const nn::Tensor* constant(const std::string& name) const {
    return m_constants && !name.empty() && m_constants->contains(name) && m_constants->at(name).is_float()
               ? &m_constants->at(name).f
               : nullptr;
  }

  [[noreturn]] void unsupported(const std::string& what) const {
    throw models::model_error("model.onnx.unsupported_attribute", Unsupported,
                              "operator " + m_node.op_type + " (node '" + m_node.name + "'): " + what,
                              {{"node", m_node.name}, {"op", m_node.op_type}});
  }
  void require(bool ok, const std::string& what) const {
    if (!ok) unsupported(what);
  }

  std::int64_t i(const std::string& name, std::int64_t fallback) { return get(name, Attribute::Kind::Int, fallback, &Attribute::i); }
  float f(const std::string& name, float fallback) { return get(name, Attribute::Kind::Float, fallback, &Attribute::f); }
  std::string s(const std::string& name, const std::string& fallback) { return get(name, Attribute::Kind::String, fallback, &Attribute::s); }
  Dims ints(const std::string& name, Dims fallback = {}) { return get(name, Attribute::Kind::Ints, fallback, &Attribute::ints); }
  const Attribute* find(const std::string& name) {
    auto it = m_node.attributes.find(name);
    if (it == m_node.attributes.end()) return nullptr;
    m_read.insert(name);
    return &it->second;
  }

  // Inputs present (non-empty names) between min and max, outputs <= max.
  void arity(std::size_t min_in, std::size_t max_in, std::size_t max_out = 1) const {
    std::size_t present = 0;
    for (const std::string& in : m_node.inputs) present += in.empty() ? 0 : 1;
    if (m_node.inputs.size() < min_in || m_node.inputs.size() > max_in || present < min_in)
      unsupported(std::to_string(m_node.inputs.size()) + " inputs (takes " + std::to_string(min_in) + " to " +
                  std::to_string(max_in) + ")");
    std::size_t outs = 0;
    for (const std::string& o : m_node.outputs) outs += o.empty() ? 0 : 1;
    if (outs > max_out || m_node.outputs.empty() || m_node.outputs[0].empty())
      unsupported("optional outputs beyond the first (e.g. training statistics or indices) are not computed");
  }
  std::string in(std::size_t k) const { return k < m_node.inputs.size() ? m_node.inputs[k] : std::string(); }
  const std::string& out() const { return m_node.outputs[0]; }

  // Refuses attributes no getter asked for.
  void finish() const {
    for (const auto& [name, a] : m_node.attributes)
      if (!m_read.count(name)) unsupported("attribute '" + name + "' is not supported");
  }

 private:
  template <class T>
  T get(const std::string& name, Attribute::Kind kind, T fallback, T Attribute::*member) {
    const Attribute* a = find(name);
    if (!a) return fallback;
    if (a->kind != kind) unsupported("attribute '" + name + "' has an unexpected type");
    return a->*member;
  }

  const Node& m_node;
  std::int64_t m_opset;
  const Values* m_constants;
  std::set<std::string> m_read;
};

std::int64_t normalise_axis(std::int64_t axis, std::int64_t rank, const std::string& node) {
  if (axis < -rank || axis >= rank)
    throw models::input_error("model.input.shape", "node '" + node + "': axis " + std::to_string(axis) +
                                                       " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

nn::Tensor alloc(const std::string& node, nn::Dims shape) { return nn::Tensor::allocate("onnx::" + node, std::move(shape)); }

// Kernel, strides, dilations, pads and auto_pad of Conv and the pools.
nn::Window read_window(NodeReader& r, bool pool) {
  nn::Window w;
  w.kernel = r.ints("kernel_shape");
  if (pool) r.require(!w.kernel.empty(), "kernel_shape is required");
  w.strides = r.ints("strides");
  w.dilations = r.ints("dilations");
  const Dims pads = r.ints("pads");
  r.require(pads.size() % 2 == 0, "pads must list a begin and an end per axis");
  w.pads_begin.assign(pads.begin(), pads.begin() + pads.size() / 2);
  w.pads_end.assign(pads.begin() + pads.size() / 2, pads.end());
  const std::string auto_pad = r.s("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER") w.auto_pad = nn::AutoPad::SameUpper;
  else if (auto_pad == "SAME_LOWER") w.auto_pad = nn::AutoPad::SameLower;
  else if (auto_pad == "VALID") w.auto_pad = nn::AutoPad::Valid;
  else r.require(auto_pad == "NOTSET", "auto_pad '" + auto_pad + "'");
  if (pool) w.ceil_mode = r.i("ceil_mode", 0) != 0;
  return w;
}

// ---- operators --------------------------------------------------------------

using Builder = NodeKernel (*)(NodeReader&);

// Conv, and FusedConv (fusion.hpp): Conv with a residual input and an
// activation applied by the kernel's store.
NodeKernel build_conv_like(NodeReader& r, bool fused) {
  r.arity(2, fused ? 4 : 3);
  const nn::Window window = read_window(r, false);
  const std::int64_t groups = r.i("group", 1);
  r.require(groups >= 1, "group must be positive");
  nn::ConvEpilogue epilogue;
  if (fused) {
    const std::string act = r.s("activation", "Identity");
    epilogue.alpha = r.f("alpha", 0.01f);
    if (act == "Relu") epilogue.activation = nn::Unary::Relu;
    else if (act == "LeakyRelu") epilogue.activation = nn::Unary::LeakyRelu;
    else r.require(act == "Identity", "activation '" + act + "'");
  }
  const std::string x = r.in(0), w = r.in(1), b = r.in(2), res = fused ? r.in(3) : "", y = r.out(),
                    name = r.node().name;
  // Weights that are initializers are packed once, here; a shape the
  // kernel refuses is left to run time, which reports it per node.
  std::shared_ptr<const nn::ConvWeights> packed;
  if (const nn::Tensor* wt = r.constant(w); wt && (b.empty() || r.constant(b))) {
    try {
      packed = std::make_shared<const nn::ConvWeights>(nn::pack_conv_weights(*wt, r.constant(b), groups));
    } catch (const kernels::Error&) {
    }
  }
  return [=](Values& v) {
    const nn::Tensor& in = v.tensor(x);
    const std::shared_ptr<const nn::ConvWeights> cw =
        packed ? packed
               : std::make_shared<const nn::ConvWeights>(
                     nn::pack_conv_weights(v.tensor(w), b.empty() ? nullptr : &v.tensor(b), groups));
    nn::Window win = window;
    nn::Tensor out = alloc(name, nn::conv_shape(in.shape, cw->shape, win, groups));
    nn::ConvEpilogue e = epilogue;
    e.residual = res.empty() ? nullptr : &v.tensor(res);
    if (e.residual && e.residual->shape != out.shape) {
      // The Add broadcasts: run the chain unfused.
      nn::conv(in, *cw, win, nn::ConvEpilogue{}, out);
      nn::Tensor sum = alloc(name, nn::broadcast_shape(out.shape, e.residual->shape));
      nn::binary(nn::Binary::Add, out, *e.residual, sum);
      nn::unary(e.activation, e.alpha, sum, sum);
      v.set(y, std::move(sum));
      return;
    }
    nn::conv(in, *cw, win, e, out);
    v.set(y, std::move(out));
  };
}
NodeKernel build_conv(NodeReader& r) { return build_conv_like(r, false); }
NodeKernel build_fused_conv(NodeReader& r) { return build_conv_like(r, true); }

NodeKernel build_pool(NodeReader& r, nn::Pool kind) {
  r.arity(1, 1);
  const nn::Window window = read_window(r, true);
  bool include_pad = false;
  if (kind == nn::Pool::Max) {
    r.i("storage_order", 0);  // only shapes the Indices output, which arity() refuses
  } else {
    include_pad = r.i("count_include_pad", 0) != 0;
  }
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    nn::Window win = window;
    nn::Tensor out = alloc(name, nn::pool_shape(v.tensor(x).shape, win));
    nn::pool(v.tensor(x), win, kind, include_pad, out);
    v.set(y, std::move(out));
  };
}
NodeKernel build_max_pool(NodeReader& r) { return build_pool(r, nn::Pool::Max); }
NodeKernel build_average_pool(NodeReader& r) { return build_pool(r, nn::Pool::Average); }

NodeKernel build_global_average_pool(NodeReader& r) {
  r.arity(1, 1);
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    nn::Tensor out = alloc(name, nn::global_average_pool_shape(v.tensor(x).shape));
    nn::global_average_pool(v.tensor(x), out);
    v.set(y, std::move(out));
  };
}

NodeKernel build_batch_norm(NodeReader& r) {
  r.arity(5, 5);
  const float epsilon = r.f("epsilon", 1e-5f);
  r.f("momentum", 0.9f);  // a training parameter: inference ignores it
  r.require(r.i("training_mode", 0) == 0, "training_mode=1 (only inference is supported)");
  r.require(r.i("spatial", 1) == 1, "spatial=0 (per-element statistics)");
  r.i("is_test", 1);
  const std::string x = r.in(0), s = r.in(1), b = r.in(2), m = r.in(3), var = r.in(4), y = r.out(),
                    name = r.node().name;
  return [=](Values& v) {
    nn::Tensor out = alloc(name, v.tensor(x).shape);
    nn::batch_norm(v.tensor(x), v.tensor(s), v.tensor(b), v.tensor(m), v.tensor(var), epsilon, out);
    v.set(y, std::move(out));
  };
}

NodeKernel build_unary(NodeReader& r, nn::Unary op, float alpha) {
  r.arity(1, 1);
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    nn::Tensor out = alloc(name, v.tensor(x).shape);
    nn::unary(op, alpha, v.tensor(x), out);
    v.set(y, std::move(out));
  };
}
NodeKernel build_relu(NodeReader& r) { return build_unary(r, nn::Unary::Relu, 0); }
NodeKernel build_sigmoid(NodeReader& r) { return build_unary(r, nn::Unary::Sigmoid, 0); }
NodeKernel build_tanh(NodeReader& r) { return build_unary(r, nn::Unary::Tanh, 0); }
NodeKernel build_leaky_relu(NodeReader& r) { return build_unary(r, nn::Unary::LeakyRelu, r.f("alpha", 0.01f)); }

NodeKernel build_binary(NodeReader& r, nn::Binary op) {
  r.arity(2, 2);
  const std::string a = r.in(0), b = r.in(1), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    nn::Tensor out = alloc(name, nn::broadcast_shape(v.tensor(a).shape, v.tensor(b).shape));
    nn::binary(op, v.tensor(a), v.tensor(b), out);
    v.set(y, std::move(out));
  };
}
NodeKernel build_add(NodeReader& r) { return build_binary(r, nn::Binary::Add); }
NodeKernel build_sub(NodeReader& r) { return build_binary(r, nn::Binary::Sub); }
NodeKernel build_mul(NodeReader& r) { return build_binary(r, nn::Binary::Mul); }
NodeKernel build_div(NodeReader& r) { return build_binary(r, nn::Binary::Div); }

NodeKernel build_softmax(NodeReader& r) {
  r.arity(1, 1);
  // Opset 13 made Softmax act on one axis (default -1); before, it flattened
  // the input to 2-D at `axis` (default 1).
  const bool single_axis = r.opset() >= 13;
  const std::int64_t axis_attr = r.i("axis", single_axis ? -1 : 1);
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    const nn::Tensor& in = v.tensor(x);
    const std::int64_t axis = normalise_axis(axis_attr, in.rank(), name);
    nn::Tensor out = alloc(name, in.shape);
    nn::softmax(in, axis, single_axis ? axis : in.rank() - 1, out);
    v.set(y, std::move(out));
  };
}

NodeKernel build_gemm(NodeReader& r) {
  r.arity(2, 3);
  const float alpha = r.f("alpha", 1.0f), beta = r.f("beta", 1.0f);
  const bool trans_a = r.i("transA", 0) != 0, trans_b = r.i("transB", 0) != 0;
  const std::string a = r.in(0), b = r.in(1), c = r.in(2), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    const nn::Tensor &ta = v.tensor(a), &tb = v.tensor(b);
    if (ta.rank() != 2 || tb.rank() != 2)
      throw kernels::Error(kernels::error_id::Shape, "Gemm", "A " + nn::dims_string(ta.shape) + " and B " +
                                                                 nn::dims_string(tb.shape) + " must be matrices");
    const std::int64_t m = trans_a ? ta.shape[1] : ta.shape[0], k = trans_a ? ta.shape[0] : ta.shape[1];
    const std::int64_t kb = trans_b ? tb.shape[1] : tb.shape[0], n = trans_b ? tb.shape[0] : tb.shape[1];
    if (k != kb)
      throw kernels::Error(kernels::error_id::Shape, "Gemm",
                           "inner extents differ: A " + nn::dims_string(ta.shape) + ", B " + nn::dims_string(tb.shape));
    nn::Tensor out = alloc(name, {m, n});
    const bool with_c = !c.empty() && beta != 0.0f;
    if (with_c) {  // C broadcast to [M][N] is the GEMM's starting value
      Kokkos::deep_copy(out.data, 0.0f);
      nn::binary(nn::Binary::Add, out, v.tensor(c), out);
    }
    nn::gemm(nn::Gemm{m, n, k, trans_a, trans_b, alpha, with_c ? beta : 0.0f}, ta.data.data(), ta.shape[1],
             tb.data.data(), tb.shape[1], out.data.data(), n);
    v.set(y, std::move(out));
  };
}

NodeKernel build_matmul(NodeReader& r) {
  r.arity(2, 2);
  const std::string a = r.in(0), b = r.in(1), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    nn::Tensor out = alloc(name, nn::matmul_shape(v.tensor(a).shape, v.tensor(b).shape));
    nn::matmul(v.tensor(a), v.tensor(b), out);
    v.set(y, std::move(out));
  };
}

NodeKernel build_concat(NodeReader& r) {
  r.arity(1, SIZE_MAX);
  r.require(r.find("axis") != nullptr, "attribute 'axis' is required");
  const std::int64_t axis_attr = r.i("axis", 0);
  const std::vector<std::string> inputs = r.node().inputs;
  const std::string y = r.out(), name = r.node().name;
  return [=](Values& v) {
    std::vector<const nn::Tensor*> parts;
    for (const std::string& in : inputs) parts.push_back(&v.tensor(in));
    const std::int64_t axis = normalise_axis(axis_attr, parts.front()->rank(), name);
    nn::Tensor out = alloc(name, nn::concat_shape(parts, axis));
    nn::concat(parts, axis, out);
    v.set(y, std::move(out));
  };
}

NodeKernel build_transpose(NodeReader& r) {
  r.arity(1, 1);
  const Dims perm_attr = r.ints("perm");
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    const nn::Tensor& in = v.tensor(x);
    Dims perm = perm_attr;
    if (perm.empty())  // default: reverse the axes
      for (std::int64_t d = in.rank(); d-- > 0;) perm.push_back(d);
    nn::Tensor out = alloc(name, nn::transpose_shape(in.shape, perm));
    nn::transpose(in, perm, out);
    v.set(y, std::move(out));
  };
}

// Flatten and Reshape change only the shape: the output shares the input's
// storage (values are never written after they are produced).
NodeKernel build_flatten(NodeReader& r) {
  r.arity(1, 1);
  const std::int64_t axis_attr = r.i("axis", 1);
  const std::string x = r.in(0), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    const nn::Tensor& in = v.tensor(x);
    const std::int64_t axis = axis_attr == in.rank() ? axis_attr : normalise_axis(axis_attr, in.rank(), name);
    v.set(y, in.reshaped({nn::product(in.shape, 0, axis), nn::product(in.shape, axis)}));
  };
}

NodeKernel build_reshape(NodeReader& r) {
  r.arity(2, 2);
  const bool allow_zero = r.i("allowzero", 0) != 0;
  const std::string x = r.in(0), s = r.in(1), y = r.out(), name = r.node().name;
  return [=](Values& v) {
    const nn::Tensor& in = v.tensor(x);
    Dims shape = v.ints(s).i;
    std::int64_t infer = -1, known = 1;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 0 && !allow_zero) {  // 0 copies the input's extent
        if (d >= in.shape.size())
          throw models::input_error("model.input.shape", "node '" + name + "': 0 at axis " + std::to_string(d) +
                                                             " beyond the input's rank");
        shape[d] = in.shape[d];
      }
      if (shape[d] == -1) {
        if (infer >= 0) throw models::input_error("model.input.shape", "node '" + name + "': two -1 extents");
        infer = static_cast<std::int64_t>(d);
      } else if (shape[d] < 0) {
        throw models::input_error("model.input.shape", "node '" + name + "': extent " + std::to_string(shape[d]));
      } else {
        known *= shape[d];
      }
    }
    if (infer >= 0) {
      if (known == 0 || in.size() % known != 0)
        throw models::input_error("model.input.shape", "node '" + name + "': cannot reshape " +
                                                           nn::dims_string(in.shape) + " to " + nn::dims_string(shape));
      shape[infer] = in.size() / known;
    }
    v.set(y, in.reshaped(shape));
  };
}

NodeKernel build_identity(NodeReader& r) {
  r.arity(1, 1);
  const std::string x = r.in(0), y = r.out();
  return [=](Values& v) { v.set_value(y, v.at(x)); };
}

NodeKernel build_constant(NodeReader& r) {
  r.arity(0, 0);
  HostTensor value;
  if (const Attribute* a = r.find("value")) {
    r.require(a->kind == Attribute::Kind::Tensor && a->t, "attribute 'value' is not a tensor");
    value = *a->t;
  } else if (const Attribute* a = r.find("value_float")) {
    value.f = {a->f};
  } else if (const Attribute* a = r.find("value_floats")) {
    value.f = a->floats;
    value.shape = {static_cast<std::int64_t>(a->floats.size())};
  } else if (const Attribute* a = r.find("value_int")) {
    value.type = ElemType::Int64;
    value.i = {a->i};
  } else if (const Attribute* a = r.find("value_ints")) {
    value.type = ElemType::Int64;
    value.i = a->ints;
    value.shape = {static_cast<std::int64_t>(a->ints.size())};
  } else {
    r.unsupported("needs one of value, value_float(s), value_int(s)");
  }
  const std::string y = r.out(), name = r.node().name;
  if (value.type == ElemType::Int64) return [=](Values& v) { v.set(y, value); };
  const nn::Tensor t = to_kernel_tensor(value, "onnx::" + name);
  return [=](Values& v) { v.set(y, t); };
}

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> table = {
      {"Add", build_add},
      {"AveragePool", build_average_pool},
      {"BatchNormalization", build_batch_norm},
      {"Concat", build_concat},
      {"Constant", build_constant},
      {"Conv", build_conv},
      {"Div", build_div},
      {"Flatten", build_flatten},
      {"Gemm", build_gemm},
      {"GlobalAveragePool", build_global_average_pool},
      {"Identity", build_identity},
      {"LeakyRelu", build_leaky_relu},
      {"MatMul", build_matmul},
      {"MaxPool", build_max_pool},
      {"Mul", build_mul},
      {"Relu", build_relu},
      {"Reshape", build_reshape},
      {"Sigmoid", build_sigmoid},
      {"Softmax", build_softmax},
      {"Sub", build_sub},
      {"Tanh", build_tanh},
      {"Transpose", build_transpose},
  };
  return table;
}

}  // namespace

std::vector<std::string> supported_operators() {
  std::vector<std::string> names;
  for (const auto& [name, b] : builders()) names.push_back(name);
  return names;
}

NodeKernel compile_node(const Node& node, std::int64_t opset, const Values* constants) {
  const auto it = node.domain.empty() ? builders().find(node.op_type) : builders().end();
  if (it == builders().end()) {
    std::string list;
    for (const std::string& n : supported_operators()) list += (list.empty() ? "" : ", ") + n;
    const std::string op = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    throw models::model_error("model.onnx.unsupported_op", Unsupported,
                              "operator " + op + " (node '" + node.name + "') is not supported; beamflow runs " + list,
                              {{"node", node.name}, {"op", op}});
  }
  NodeReader reader(node, opset, constants);
  NodeKernel kernel = it->second(reader);
  reader.finish();
  return kernel;
}

NodeKernel compile_planned_node(const Node& node, std::int64_t opset, const Values& constants) {
  if (node.domain != kFusedDomain) return compile_node(node, opset, &constants);
  if (node.op_type != kFusedConv) throw std::logic_error("unknown fused operator " + node.op_type);
  NodeReader reader(node, opset, &constants);
  NodeKernel kernel = build_fused_conv(reader);
  reader.finish();
  return kernel;
}

}  // namespace beamflow::onnx
