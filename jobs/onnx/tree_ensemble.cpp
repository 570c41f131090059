// ONNX-ML TreeEnsembleClassifier / TreeEnsembleRegressor -> the flat forest
// layout (tree_ensemble.hpp explains the translation of the split modes).
#include "jobs/onnx/tree_ensemble.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "jobs/models/errors.hpp"

namespace beamflow::onnx {

using models::model_asl::Corrupt;
using models::model_asl::Unsupported;

namespace {

constexpr const char* kMlDomain = "ai.onnx.ml";

enum class Mode { Leq, Lt, Gte, Gt, Eq, Neq, Leaf };

// Reads one TreeEnsemble node's attributes, refusing what it cannot name.
class Attributes {
 public:
  Attributes(const Node& node, std::string origin) : m_node(node), m_origin(std::move(origin)) {}

  [[noreturn]] void fail(const char* id, const std::string& attribute, const std::string& what) const {
    Error::Context context{{"file", m_origin}, {"node", m_node.name}};
    if (!attribute.empty()) context.emplace_back("attribute", attribute);
    throw models::model_error(id, std::string(id) == "model.onnxml.invalid" ? Corrupt : Unsupported,
                              m_node.op_type + " '" + m_node.name + "'" +
                                  (attribute.empty() ? "" : ", attribute " + attribute) + ": " + what,
                              std::move(context));
  }
  [[noreturn]] void invalid(const std::string& attribute, const std::string& what) const {
    fail("model.onnxml.invalid", attribute, what);
  }
  [[noreturn]] void unsupported(const std::string& attribute, const std::string& what) const {
    fail("model.onnxml.unsupported", attribute, what);
  }

  const Attribute* find(const std::string& name, Attribute::Kind kind) {
    m_read.insert(name);
    const auto it = m_node.attributes.find(name);
    if (it == m_node.attributes.end()) return nullptr;
    if (it->second.kind != kind) invalid(name, "has the wrong attribute type");
    return &it->second;
  }
  std::vector<std::int64_t> ints(const std::string& name) {
    const Attribute* a = find(name, Attribute::Kind::Ints);
    return a ? a->ints : std::vector<std::int64_t>{};
  }
  std::vector<float> floats(const std::string& name) {
    const Attribute* a = find(name, Attribute::Kind::Floats);
    return a ? a->floats : std::vector<float>{};
  }
  std::vector<std::string> strings(const std::string& name) {
    const Attribute* a = find(name, Attribute::Kind::Strings);
    return a ? a->strings : std::vector<std::string>{};
  }
  std::string text(const std::string& name, const std::string& fallback) {
    const Attribute* a = find(name, Attribute::Kind::String);
    return a ? a->s : fallback;
  }
  std::int64_t integer(const std::string& name, std::int64_t fallback) {
    const Attribute* a = find(name, Attribute::Kind::Int);
    return a ? a->i : fallback;
  }
  // Every attribute was read: a misspelt or newer one must not be ignored.
  void finish() const {
    for (const auto& [name, a] : m_node.attributes)
      if (!m_read.count(name))
        unsupported(name, name.size() > 10 && name.substr(name.size() - 10) == "_as_tensor"
                              ? "double-precision *_as_tensor attributes (ai.onnx.ml opset 3) are not supported; "
                                "beamflow compares float32 inputs with float32 thresholds"
                              : "unknown attribute");
  }

 private:
  const Node& m_node;
  std::string m_origin;
  std::set<std::string> m_read;
};

Mode mode_of(Attributes& a, const std::string& s) {
  static const std::map<std::string, Mode> modes = {
      {"BRANCH_LEQ", Mode::Leq}, {"BRANCH_LT", Mode::Lt}, {"BRANCH_GTE", Mode::Gte}, {"BRANCH_GT", Mode::Gt},
      {"BRANCH_EQ", Mode::Eq},   {"BRANCH_NEQ", Mode::Neq}, {"LEAF", Mode::Leaf}};
  const auto it = modes.find(s);
  if (it == modes.end())
    a.unsupported("nodes_modes", "mode '" + s + "' (known: BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, "
                                 "BRANCH_EQ, BRANCH_NEQ, LEAF)");
  return it->second;
}

float prev_float(float t) { return std::nextafter(t, -std::numeric_limits<float>::infinity()); }

// One ONNX-ML node, resolved.
struct OnnxNode {
  std::int64_t tree = 0;
  Mode mode = Mode::Leaf;
  std::int64_t feature = 0;
  float threshold = 0;
  bool nan_true = false;  // where NaN goes
  std::int32_t if_true = -1, if_false = -1;  // indices into the node list
  std::vector<std::pair<std::int64_t, double>> weights;  // (column, weight) at leaves
};

// Builds one tree of the forest from its ONNX-ML root, depth first.
class TreeWriter {
 public:
  // `reached` marks the ONNX-ML nodes written (shared by every tree).
  TreeWriter(const std::vector<OnnxNode>& nodes, models::ForestFile& f, std::int64_t n_inputs, bool nan_for_missing,
             std::vector<char>& reached)
      : m_nodes(nodes), m_f(f), m_inputs(n_inputs), m_missing_nan(nan_for_missing), m_reached(reached) {}

  bool negated = false;  // a split reads -x

  void write(std::int32_t root) {
    m_base = m_f.feature.size();
    struct Item {
      std::int32_t onnx;
      std::int64_t parent;
      bool second;
    };
    std::vector<Item> stack{{root, -1, false}};
    while (!stack.empty()) {
      const Item it = stack.back();
      stack.pop_back();
      const OnnxNode& n = m_nodes[static_cast<std::size_t>(it.onnx)];
      m_reached[static_cast<std::size_t>(it.onnx)] = 1;
      const auto attach = [&](std::int64_t local) {
        if (it.parent >= 0) (it.second ? m_f.right : m_f.left)[m_base + static_cast<std::size_t>(it.parent)] =
            static_cast<std::int32_t>(local);
      };
      if (n.mode == Mode::Leaf) {
        attach(leaf(n));
        continue;
      }
      const std::int32_t nan_branch = n.nan_true ? n.if_true : n.if_false;
      const std::int32_t other = n.nan_true ? n.if_false : n.if_true;
      if (n.mode != Mode::Eq && n.mode != Mode::Neq) {
        // The condition under which the NaN branch is taken, as +-x <= c.
        const bool nan_branch_is_true = n.nan_true;
        const bool less = (n.mode == Mode::Leq || n.mode == Mode::Lt) == nan_branch_is_true;
        // true sets: LEQ x<=t, LT x<t, GTE x>=t, GT x>t; complements for the false branch.
        const bool strict = nan_branch_is_true ? (n.mode == Mode::Lt || n.mode == Mode::Gt)
                                               : (n.mode == Mode::Leq || n.mode == Mode::Gte);
        const std::int64_t s = split(n.feature, !less, strict, n.threshold);
        attach(s);
        stack.push_back({other, s, true});
        stack.push_back({nan_branch, s, false});
        continue;
      }
      // x == t: the branch where equal rows go; the other takes x < t and x > t.
      const std::int32_t equal = n.mode == Mode::Eq ? n.if_true : n.if_false;
      const std::int32_t unequal = n.mode == Mode::Eq ? n.if_false : n.if_true;
      if (nan_branch == unequal) {  // x < t ? U : (x > t ? U : E); NaN -> U
        const std::int64_t a = split(n.feature, false, true, n.threshold);
        attach(a);
        const std::int64_t b = split(n.feature, true, true, n.threshold);
        m_f.right[m_base + static_cast<std::size_t>(a)] = static_cast<std::int32_t>(b);
        stack.push_back({equal, b, true});
        stack.push_back({unequal, b, false});
        stack.push_back({unequal, a, false});
      } else {  // x <= t ? (x >= t ? E : U) : U; NaN -> E
        const std::int64_t a = split(n.feature, false, false, n.threshold);
        attach(a);
        const std::int64_t b = split(n.feature, true, false, n.threshold);
        m_f.left[m_base + static_cast<std::size_t>(a)] = static_cast<std::int32_t>(b);
        stack.push_back({unequal, a, true});
        stack.push_back({unequal, b, true});
        stack.push_back({equal, b, false});
      }
    }
  }

 private:
  std::int64_t add_node() {
    const auto local = static_cast<std::int64_t>(m_f.feature.size() - m_base);
    m_f.feature.push_back(-1);
    m_f.threshold.push_back(0.0);
    m_f.left.push_back(-1);
    m_f.right.push_back(-1);
    m_f.value.resize(m_f.value.size() + static_cast<std::size_t>(m_f.n_values), 0.0);
    return local;
  }
  // First child when (negate ? -x : x) is <= t (strict: < t).
  std::int64_t split(std::int64_t feature, bool negate, bool strict, float t) {
    const std::int64_t local = add_node();
    const std::size_t at = m_base + static_cast<std::size_t>(local);
    const float c = negate ? -t : t;
    m_f.feature[at] = static_cast<std::int32_t>(negate ? feature + m_inputs : feature);
    m_f.threshold[at] = static_cast<double>(strict ? prev_float(c) : c);
    negated = negated || negate;
    return local;
  }
  std::int64_t leaf(const OnnxNode& n) {
    const std::int64_t local = add_node();
    double* v = &m_f.value[(m_base + static_cast<std::size_t>(local)) * static_cast<std::size_t>(m_f.n_values)];
    if (m_missing_nan)
      for (std::int64_t c = 0; c < m_f.n_values; ++c) v[c] = std::numeric_limits<double>::quiet_NaN();
    for (const auto& [column, w] : n.weights) {
      double& slot = v[column];
      slot = std::isnan(slot) ? w : slot + w;
    }
    return local;
  }

  const std::vector<OnnxNode>& m_nodes;
  models::ForestFile& m_f;
  std::int64_t m_inputs;
  bool m_missing_nan;
  std::vector<char>& m_reached;
  std::size_t m_base = 0;
};

const Node& ensemble_node(const Graph& g, const std::string& origin) {
  const auto fail = [&](const std::string& what) -> Error {
    return models::model_error("model.onnxml.unsupported", Unsupported, origin + ": " + what, {{"file", origin}});
  };
  std::string others;
  const Node* found = nullptr;
  for (const Node& n : g.nodes) {
    if (n.domain == kMlDomain && (n.op_type == "TreeEnsembleClassifier" || n.op_type == "TreeEnsembleRegressor"))
      found = found ? throw fail("more than one TreeEnsemble node") : &n;
    else
      others += (others.empty() ? "" : ", ") + (n.domain.empty() ? n.op_type : n.domain + "." + n.op_type);
  }
  if (!found) throw fail("no ai.onnx.ml TreeEnsembleClassifier or TreeEnsembleRegressor node");
  if (!others.empty())
    throw fail("the graph holds other operators (" + others +
               "); beamflow runs a graph of one TreeEnsemble node (export without ZipMap or casts)");
  const auto ml = g.domain_opsets.find(kMlDomain);
  if (ml == g.domain_opsets.end() || ml->second < 1 || ml->second > 3)
    throw fail("ai.onnx.ml opset " + (ml == g.domain_opsets.end() ? std::string("missing") : std::to_string(ml->second)) +
               " (beamflow reads opsets 1 to 3)");
  if (g.inputs.size() != 1 || found->inputs.size() != 1 || found->inputs[0] != g.inputs[0].name)
    throw fail("the TreeEnsemble node must read the graph's single input");
  const ValueInfo& in = g.inputs[0];
  if (in.type_name != "FLOAT" || in.shape.size() != 2)
    throw fail("graph input '" + in.name + "' is " + in.type_name + " of rank " + std::to_string(in.shape.size()) +
               "; beamflow runs float32 rows [batch, features]");
  return *found;
}

}  // namespace

TreeEnsemble translate_tree_ensemble(const Graph& g, const std::string& origin) {
  const Node& node = ensemble_node(g, origin);
  Attributes a(node, origin);
  TreeEnsemble e;
  e.classifier = node.op_type == "TreeEnsembleClassifier";

  const auto tree_ids = a.ints("nodes_treeids");
  const auto node_ids = a.ints("nodes_nodeids");
  const auto features = a.ints("nodes_featureids");
  const auto values = a.floats("nodes_values");
  const auto modes = a.strings("nodes_modes");
  const auto true_ids = a.ints("nodes_truenodeids");
  const auto false_ids = a.ints("nodes_falsenodeids");
  const auto tracks = a.ints("nodes_missing_value_tracks_true");
  a.floats("nodes_hitrates");  // informative only
  const std::size_t n = tree_ids.size();
  if (n == 0) a.invalid("nodes_treeids", "the ensemble has no nodes");
  const auto same_length = [&](const char* name, std::size_t size, bool optional) {
    if (size != n && !(optional && size == 0))
      a.invalid(name, "has " + std::to_string(size) + " entries for " + std::to_string(n) + " nodes");
  };
  same_length("nodes_nodeids", node_ids.size(), false);
  same_length("nodes_featureids", features.size(), false);
  same_length("nodes_values", values.size(), false);
  same_length("nodes_modes", modes.size(), false);
  same_length("nodes_truenodeids", true_ids.size(), false);
  same_length("nodes_falsenodeids", false_ids.size(), false);
  same_length("nodes_missing_value_tracks_true", tracks.size(), true);

  const std::string prefix = e.classifier ? "class_" : "target_";
  const auto w_trees = a.ints(prefix + "treeids");
  const auto w_nodes = a.ints(prefix + "nodeids");
  const auto w_ids = a.ints(prefix + "ids");
  const auto w_values = a.floats(prefix + "weights");
  if (w_nodes.size() != w_trees.size() || w_ids.size() != w_trees.size() || w_values.size() != w_trees.size())
    a.invalid(prefix + "weights", prefix + "treeids, " + prefix + "nodeids, " + prefix + "ids and " + prefix +
                                      "weights differ in length");
  if (e.classifier) {
    const auto labels = a.strings("classlabels_strings");
    const auto int_labels = a.ints("classlabels_int64s");
    if (labels.empty() == int_labels.empty())
      a.invalid("classlabels_strings", "a classifier needs exactly one of classlabels_strings, classlabels_int64s");
    e.forest.classes = labels;
    for (std::int64_t l : int_labels) e.forest.classes.push_back(std::to_string(l));
    e.columns = static_cast<std::int64_t>(e.forest.classes.size());
  } else {
    e.columns = a.integer("n_targets", 1);
    if (e.columns < 1 || e.columns > (1 << 16)) a.invalid("n_targets", "must lie in [1, 65536]");
    const std::string agg = a.text("aggregate_function", "SUM");
    static const std::map<std::string, TreeAggregate> aggregates = {{"SUM", TreeAggregate::Sum},
                                                                    {"AVERAGE", TreeAggregate::Average},
                                                                    {"MIN", TreeAggregate::Min},
                                                                    {"MAX", TreeAggregate::Max}};
    const auto it = aggregates.find(agg);
    if (it == aggregates.end())
      a.unsupported("aggregate_function", "'" + agg + "' (known: SUM, AVERAGE, MIN, MAX)");
    e.aggregate = it->second;
  }
  const std::string post = a.text("post_transform", "NONE");
  static const std::map<std::string, PostTransform> posts = {{"NONE", PostTransform::None},
                                                             {"LOGISTIC", PostTransform::Logistic},
                                                             {"SOFTMAX", PostTransform::Softmax},
                                                             {"SOFTMAX_ZERO", PostTransform::SoftmaxZero}};
  if (!posts.count(post))
    a.unsupported("post_transform", "'" + post + "' (beamflow runs NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO)");
  e.post_transform = posts.at(post);
  for (float b : a.floats("base_values")) e.base_values.push_back(b);
  if (!e.base_values.empty() && static_cast<std::int64_t>(e.base_values.size()) != e.columns)
    a.invalid("base_values", "has " + std::to_string(e.base_values.size()) + " values for " +
                                 std::to_string(e.columns) + " output columns");
  for (double b : e.base_values)
    if (!std::isfinite(b)) a.invalid("base_values", "holds a value that is not finite");
  a.finish();

  // Inputs: the declared width, else what the splits read.
  std::int64_t max_feature = -1;
  for (std::size_t k = 0; k < n; ++k) max_feature = std::max(max_feature, features[k]);
  const auto& width = g.inputs[0].shape[1];
  e.n_inputs = width ? *width : max_feature + 1;
  if (e.n_inputs < 1) a.invalid("nodes_featureids", "the model reads no feature and declares none");

  // Nodes by (tree, id).
  std::map<std::pair<std::int64_t, std::int64_t>, std::int32_t> index;
  std::vector<OnnxNode> nodes(n);
  for (std::size_t k = 0; k < n; ++k)
    if (!index.emplace(std::make_pair(tree_ids[k], node_ids[k]), static_cast<std::int32_t>(k)).second)
      a.invalid("nodes_nodeids", "tree " + std::to_string(tree_ids[k]) + " has node id " +
                                     std::to_string(node_ids[k]) + " twice");
  std::vector<int> parents(n, 0);
  for (std::size_t k = 0; k < n; ++k) {
    OnnxNode& o = nodes[k];
    const std::string where = "tree " + std::to_string(tree_ids[k]) + ", node " + std::to_string(node_ids[k]);
    o.tree = tree_ids[k];
    o.mode = mode_of(a, modes[k]);
    if (o.mode == Mode::Leaf) continue;
    if (features[k] < 0 || features[k] >= e.n_inputs)
      a.invalid("nodes_featureids", where + ": feature " + std::to_string(features[k]) + " is outside [0, " +
                                        std::to_string(e.n_inputs) + ")");
    if (std::isnan(values[k])) a.invalid("nodes_values", where + ": threshold is NaN");
    o.feature = features[k];
    o.threshold = values[k];
    const bool tracks_true = !tracks.empty() && tracks[k] != 0;
    o.nan_true = tracks_true || o.mode == Mode::Neq;  // NaN != t is true; every other comparison false
    for (auto [child, slot, name] : {std::tuple{true_ids[k], &o.if_true, "nodes_truenodeids"},
                                     std::tuple{false_ids[k], &o.if_false, "nodes_falsenodeids"}}) {
      const auto it = index.find({tree_ids[k], child});
      if (it == index.end())
        a.invalid(name, where + ": child " + std::to_string(child) + " is not a node of the tree");
      *slot = it->second;
      if (++parents[static_cast<std::size_t>(it->second)] > 1)
        a.invalid(name, "tree " + std::to_string(tree_ids[k]) + ", node " + std::to_string(child) +
                            " has more than one parent");
    }
  }
  for (std::size_t w = 0; w < w_trees.size(); ++w) {
    const auto it = index.find({w_trees[w], w_nodes[w]});
    const std::string where = "weight " + std::to_string(w) + " (tree " + std::to_string(w_trees[w]) + ", node " +
                              std::to_string(w_nodes[w]) + ")";
    if (it == index.end()) a.invalid(prefix + "nodeids", where + " names no node");
    if (nodes[static_cast<std::size_t>(it->second)].mode != Mode::Leaf)
      a.invalid(prefix + "nodeids", where + " is on a split, not a leaf");
    if (w_ids[w] < 0 || w_ids[w] >= e.columns)
      a.invalid(prefix + "ids", where + ": column " + std::to_string(w_ids[w]) + " is outside [0, " +
                                    std::to_string(e.columns) + ")");
    if (!std::isfinite(w_values[w])) a.invalid(prefix + "weights", where + " is not finite");
    nodes[static_cast<std::size_t>(it->second)].weights.emplace_back(w_ids[w], w_values[w]);
  }
  if (e.classifier && e.columns == 2) {
    std::set<std::int64_t> used(w_ids.begin(), w_ids.end());
    if (used.size() == 1)
      a.unsupported("class_ids", "the weights name one class of two (onnxruntime's binary case, whose scores "
                                 "the ONNX-ML specification does not define); export a weight per class");
  }

  // Trees in ascending id, each from its one root.
  std::map<std::int64_t, std::vector<std::int32_t>> roots;
  const std::set<std::int64_t> trees(tree_ids.begin(), tree_ids.end());
  for (std::size_t k = 0; k < n; ++k) {
    if (parents[k] == 0) roots[tree_ids[k]].push_back(static_cast<std::int32_t>(k));
  }
  models::ForestFile& f = e.forest;
  const bool per_tree = e.aggregate == TreeAggregate::Min || e.aggregate == TreeAggregate::Max;
  const auto n_trees = static_cast<std::int64_t>(trees.size());
  f.kind = "onnx_ml";
  f.task = e.classifier ? "classification" : "regression";
  f.aggregation = "sum";
  f.link = "identity";
  f.producer = g.producer + " " + node.op_type;
  f.n_values = e.columns;
  f.raw_columns = per_tree ? n_trees * e.columns : e.columns;
  if (f.raw_columns > (1 << 20))
    a.unsupported("aggregate_function", "MIN and MAX keep a column per tree and target: " +
                                            std::to_string(f.raw_columns) + " is too many");
  f.init.assign(static_cast<std::size_t>(f.raw_columns), 0.0);
  f.tree_offsets = {0};
  // EQ and NEQ copy a subtree; refuse an ensemble that would grow past this.
  const std::size_t limit = std::min<std::size_t>(16 * n + (1u << 20), std::numeric_limits<std::int32_t>::max() / 2);
  std::vector<char> reached(n, 0);
  bool negated = false;
  std::int64_t t = 0;
  for (const std::int64_t tree : trees) {
    const auto it = roots.find(tree);
    if (it == roots.end() || it->second.size() != 1)
      a.invalid("nodes_nodeids", "tree " + std::to_string(tree) + " has " +
                                     std::to_string(it == roots.end() ? 0 : it->second.size()) +
                                     " roots (nodes no split names); a tree has one (a cycle has none)");
    TreeWriter writer(nodes, f, e.n_inputs, per_tree, reached);
    writer.write(it->second[0]);
    negated = negated || writer.negated;
    f.tree_offsets.push_back(static_cast<std::int64_t>(f.feature.size()));
    f.tree_column.push_back(static_cast<std::int32_t>(per_tree ? t * e.columns : 0));
    if (f.feature.size() > limit)
      a.unsupported("nodes_modes", "BRANCH_EQ / BRANCH_NEQ splits duplicate subtrees: the forest would exceed " +
                                       std::to_string(limit) + " nodes");
    ++t;
  }
  for (std::size_t k = 0; k < n; ++k)
    if (!reached[k])
      a.invalid("nodes_nodeids", "tree " + std::to_string(tree_ids[k]) + ", node " + std::to_string(node_ids[k]) +
                                     " is not reached from the tree's root (a cycle)");
  e.negated_features = negated;
  f.n_features = negated ? 2 * e.n_inputs : e.n_inputs;
  e.onnx_nodes = n;
  return e;
}

}  // namespace beamflow::onnx
