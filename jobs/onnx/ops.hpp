#pragma once
// The ONNX operators beamflow runs, each compiled once at load from its node
// (attributes read and checked, defaults of the model's opset applied) into a
// closure that calls the kernels/nn.hpp kernels.
//
// An operator or attribute value we do not implement is refused here, at
// load, with the node's name: model.onnx.unsupported_op,
// model.onnx.unsupported_attribute. Every attribute a node carries must be
// read by its operator, so an attribute this code does not know is refused
// instead of silently ignored.
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "jobs/onnx/graph.hpp"
#include "kernels/ml/nn.hpp"

namespace beamflow::onnx {

// A value flowing through the graph: float32 on the kernels' memory space,
// or int64 on the host (shapes, read by Reshape).
struct Value {
  kernels::nn::Tensor f;
  std::optional<HostTensor> ints;
  bool is_float() const { return !ints.has_value(); }
};

class Values {
 public:
  // The float tensor `name`; throws model.input.dtype when it is int64.
  const kernels::nn::Tensor& tensor(const std::string& name) const;
  // The int64 tensor `name`; throws model.input.dtype when it is float.
  const HostTensor& ints(const std::string& name) const;
  void set(const std::string& name, kernels::nn::Tensor t) { m_values[name] = Value{std::move(t), std::nullopt}; }
  void set(const std::string& name, HostTensor t) { m_values[name] = Value{{}, std::move(t)}; }
  void set_value(const std::string& name, Value v) { m_values[name] = std::move(v); }
  const Value& at(const std::string& name) const;
  bool contains(const std::string& name) const { return m_values.count(name) != 0; }
  void erase(const std::string& name) { m_values.erase(name); }

 private:
  std::unordered_map<std::string, Value> m_values;
};

using NodeKernel = std::function<void(Values&)>;

// Throws model.onnx.unsupported_op / model.onnx.unsupported_attribute.
// With `constants` (the program's initializers), operators prepare what
// they can once here (Conv packs its weights).
NodeKernel compile_node(const Node& node, std::int64_t opset, const Values* constants = nullptr);
// A node of an execution plan (fusion.hpp): compile_node's operators and
// the internal fused ones.
NodeKernel compile_planned_node(const Node& node, std::int64_t opset, const Values& constants);

// The operator names compile_node accepts (default domain), sorted.
std::vector<std::string> supported_operators();

// A HostTensor's float data as a kernel tensor (copied to the kernels'
// memory space), and back.
kernels::nn::Tensor to_kernel_tensor(const HostTensor& h, const std::string& label);
HostTensor to_host_tensor(const kernels::nn::Tensor& t);

}  // namespace beamflow::onnx
