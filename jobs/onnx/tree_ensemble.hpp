#pragma once
// Format "onnx-ml": a tree ensemble stored as an ONNX-ML
// TreeEnsembleClassifier or TreeEnsembleRegressor (domain ai.onnx.ml, opsets
// 1 to 3), translated at load into the flat forest of forest_file.hpp and run
// by the forest kernel (kernels/forest.hpp). docs/models.md, "onnx-ml".
//
// The kernel has one kind of split: go to the first child unless
// x[feature] > threshold (so NaN goes to the first child). Every ONNX-ML
// mode is written with it, exactly for float32 inputs:
//   x <= t   is  x <= t              x <  t  is  x <= prev(t)
//   x >= t   is  -x <= -t            x >  t  is  -x <= prev(-t)
// where prev is the next float32 towards -inf and -x reads a negated copy of
// the features (added only when a split needs it). The branch that NaN
// takes (the true branch with missing_value_tracks_true, else the branch of
// the comparison's result, false except for NEQ) is placed first. EQ and NEQ
// take two splits (x < t, x > t) and duplicate the subtree they share.
//
// Errors (each naming the file, the node and the attribute):
//   model.onnxml.invalid      attributes that contradict each other: lengths,
//                             ids, trees without one root, weights on splits
//   model.onnxml.unsupported  what the format allows but beamflow does not
//                             run: PROBIT, *_as_tensor attributes, other
//                             operators in the graph, onnxruntime's binary
//                             single-score classifier, a non-float input
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jobs/models/forest_file.hpp"
#include "jobs/models/runtime.hpp"
#include "jobs/onnx/graph.hpp"

namespace beamflow::onnx {

inline constexpr const char* kOnnxMlFormat = "onnx-ml";

enum class PostTransform { None, Logistic, Softmax, SoftmaxZero };
enum class TreeAggregate { Sum, Average, Min, Max };

// An ONNX-ML ensemble in the forest layout plus what the forest kernel does
// not do itself, applied per row after it (in this order): aggregate over
// trees, add base_values, post-transform.
struct TreeEnsemble {
  bool classifier = false;
  models::ForestFile forest;  // task, classes; its features are the inputs (+ their negations)
  std::int64_t n_inputs = 0;  // features the model takes
  bool negated_features = false;  // forest columns [n_inputs, 2 n_inputs) are -x
  std::int64_t columns = 0;       // classes or targets
  // Min and Max keep one raw column per tree and column (tree t, column c at
  // t * columns + c); a leaf without a weight for c holds NaN there, so it
  // takes no part, as in the ONNX-ML reference implementations.
  TreeAggregate aggregate = TreeAggregate::Sum;
  std::vector<double> base_values;  // [columns]
  PostTransform post_transform = PostTransform::None;
  std::size_t onnx_nodes = 0;  // nodes in the ONNX-ML graph (the forest may have more: EQ, NEQ)
};

// Translates the graph's single TreeEnsemble node; `origin` names the file in
// errors. Throws model.onnxml.* (above).
TreeEnsemble translate_tree_ensemble(const Graph& graph, const std::string& origin);

// True for an ONNX file holding an ai.onnx.ml TreeEnsembleClassifier or
// TreeEnsembleRegressor.
bool is_onnx_ml_file(const std::filesystem::path& file);

std::unique_ptr<models::ModelRuntime> make_tree_ensemble_runtime(TreeEnsemble ensemble);
std::unique_ptr<models::ModelRuntime> load_tree_ensemble_runtime(const std::filesystem::path& file);

}  // namespace beamflow::onnx
