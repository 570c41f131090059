#pragma once
// Format "onnx": a neural network read from an ONNX file (graph.hpp),
// compiled node by node at load (ops.hpp: an unsupported operator is refused
// before anything runs) and executed by the kernels/nn.hpp kernels.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jobs/models/runtime.hpp"
#include "jobs/onnx/graph.hpp"
#include "jobs/onnx/ops.hpp"

namespace beamflow::onnx {

inline constexpr const char* kOnnxFormat = "onnx";

// A compiled graph: any number of inputs and outputs, float32 or int64.
// Immutable; run() may be called from several threads.
class Program {
 public:
  // Throws model.onnx.* (unsupported operators, attributes, input types).
  explicit Program(Graph graph);
  Program(const Program&) = delete;  // steps point into m_nodes
  Program& operator=(const Program&) = delete;

  const Graph& graph() const noexcept { return m_graph; }
  // ExecutionPlan::rows_independent of the compiled plan.
  bool rows_independent() const noexcept { return m_rows_independent; }
  // `inputs` in the order of graph().inputs; returns graph().outputs in
  // order. Throws model.input.shape / model.input.dtype for inputs the graph
  // cannot take (a kernel's shape error names the node).
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) const;
  // The same on values already in the kernels' memory space.
  std::vector<Value> execute(std::vector<Value> inputs) const;

 private:
  struct Step {
    const Node* node;
    NodeKernel kernel;
    std::vector<std::string> release;  // values no later step reads
  };
  Graph m_graph;
  std::vector<Node> m_nodes;  // the execution plan (fusion.hpp)
  Values m_constants;         // its initializers, already in the kernels' memory space
  bool m_rows_independent = false;
  std::vector<Step> m_steps;
};

// The ModelRuntime of format "onnx": one float32 input (batch first) and
// one float32 output. Throws model.onnx.signature for other graphs.
std::unique_ptr<models::ModelRuntime> make_onnx_runtime(Graph graph);
std::unique_ptr<models::ModelRuntime> load_onnx_runtime(const std::filesystem::path& file);

}  // namespace beamflow::onnx
