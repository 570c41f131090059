#pragma once
// The graph a Program executes, rewritten at load so that a convolution
// block is one pass over memory instead of four:
//   - a BatchNormalization right after a Conv whose weights, bias and
//     statistics are initializers is folded into the Conv's weights and bias
//     (w' = w a, b' = (b - mean) a + beta, a = scale / sqrt(var + eps),
//     computed in double and rounded once);
//   - Conv [-> Add(residual)] [-> Relu | LeakyRelu] becomes one node of the
//     internal operator kFusedDomain.FusedConv, whose kernel adds the bias,
//     the residual and the activation in the GEMM's store.
// A value is only fused away when exactly one node reads it and it is not a
// graph output, so every value anyone else can see is still produced.
#include <map>
#include <string>
#include <vector>

#include "jobs/onnx/graph.hpp"

namespace beamflow::onnx {

// Nodes of this domain exist only in execution plans, never in a loaded
// graph (compile_node refuses them like any unknown domain).
inline constexpr const char* kFusedDomain = "beamflow.fused";
// FusedConv: inputs X, W, B ("" for none), residual ("" for none); the
// attributes of Conv plus "activation" ("Identity", "Relu", "LeakyRelu")
// and "alpha" (LeakyRelu's slope).
inline constexpr const char* kFusedConv = "FusedConv";

struct ExecutionPlan {
  std::vector<Node> nodes;                          // producers first
  std::map<std::string, HostTensor> initializers;  // those the nodes read, folded ones included
  // True when every node provably maps row i of the batch (axis 0) to row
  // i of its output and nothing else (convolutions, pools, activations,
  // Flatten at axis >= 1, Gemm of activations by constant weights,
  // arithmetic with constants of leading extent 1): the batch may then run
  // one image at a time, so every intermediate stays in cache. False for
  // any operator this cannot be shown of (Reshape, Transpose, Concat, ...).
  bool rows_independent = false;
};

ExecutionPlan plan_execution(const Graph& graph);

}  // namespace beamflow::onnx
