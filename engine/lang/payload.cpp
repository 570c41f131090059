// Payload templates (Parameters, ItemSelector, ResultSelector): ".$" fields
// compiled once into paths and intrinsics; subtrees without any collapse into
// one literal, so evaluation copies them whole.
#include "lang/payload.hpp"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/text.hpp"
#include "lang/intrinsics.hpp"

namespace beamflow::lang {

struct PayloadTemplate::Node {
  enum class Kind { Literal, Path, Intrinsic, Object, Array };
  Kind kind = Kind::Literal;
  Json literal;
  std::string field;  // the "key.$" a Path or Intrinsic came from
  std::optional<Path> path;
  std::optional<Intrinsic> intrinsic;
  // Object members as parallel vectors: a std::pair holding the incomplete
  // Node type is rejected by clang's libstdc++ checks.
  std::vector<std::string> member_names;
  std::vector<Node> items;  // array items, or object member values
};

namespace {

using Node = PayloadTemplate::Node;
constexpr std::string_view kDynamicSuffix = ".$";

bool is_dynamic_key(const std::string& key) {
  return key.size() >= kDynamicSuffix.size() &&
         key.compare(key.size() - kDynamicSuffix.size(), kDynamicSuffix.size(), kDynamicSuffix) ==
             0;
}

class Compiler {
 public:
  Compiler(const std::string& state, Problems& problems) : m_state(state), m_problems(problems) {}

  Node value(const Json& v, const std::string& pointer, std::size_t depth) {
    if (depth > detail::kMaxNesting) {
      problem(pointer, "the payload template nests deeper than " +
                           std::to_string(detail::kMaxNesting) + " levels");
      return Node{};
    }
    if (v.is_object()) return object(v, pointer, depth);
    if (v.is_array()) return array(v, pointer, depth);
    Node literal;
    literal.literal = v;
    return literal;
  }

 private:
  void problem(const std::string& pointer, std::string message) {
    m_problems.add(pointer, m_state, std::move(message));
  }

  // A ".$" value: an intrinsic when it looks like a call, else a path.
  Node dynamic(const std::string& key, const Json& v, const std::string& pointer) {
    Node node;
    node.field = key;
    if (!v.is_string()) {
      problem(pointer, "the value of '" + key +
                           "' must be a path or an intrinsic function (a string), not " +
                           detail::a_type(v));
      return node;
    }
    const auto& text = v.get_ref<const std::string&>();
    try {
      if (looks_like_intrinsic(text)) {
        node.kind = Node::Kind::Intrinsic;
        node.intrinsic = Intrinsic::parse(text);
      } else {
        node.kind = Node::Kind::Path;
        node.path = Path::parse(text);
      }
    } catch (const Error& e) {
      problem(pointer, e.message());
      node.kind = Node::Kind::Literal;
    }
    return node;
  }

  Node object(const Json& v, const std::string& pointer, std::size_t depth) {
    Node node;
    node.kind = Node::Kind::Object;
    std::set<std::string> names;
    bool dynamic_inside = false;
    for (const auto& [key, child] : v.items()) {
      const std::string child_pointer = pointer_append(pointer, key);
      std::string name = key;
      Node compiled;
      if (is_dynamic_key(key)) {
        name.resize(key.size() - kDynamicSuffix.size());
        compiled = dynamic(key, child, child_pointer);
      } else {
        compiled = value(child, child_pointer, depth + 1);
      }
      if (!names.insert(name).second) {
        problem(child_pointer, "the field '" + name + "' is given twice, as '" + name +
                                   "' and as '" + name + ".$'");
      }
      dynamic_inside = dynamic_inside || compiled.kind != Node::Kind::Literal;
      node.member_names.push_back(std::move(name));
      node.items.push_back(std::move(compiled));
    }
    return dynamic_inside ? node : literal_of(v);
  }

  Node array(const Json& v, const std::string& pointer, std::size_t depth) {
    Node node;
    node.kind = Node::Kind::Array;
    bool dynamic_inside = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
      node.items.push_back(value(v[i], pointer_append(pointer, i), depth + 1));
      dynamic_inside = dynamic_inside || node.items.back().kind != Node::Kind::Literal;
    }
    return dynamic_inside ? node : literal_of(v);
  }

  static Node literal_of(const Json& v) {
    Node node;
    node.literal = v;
    return node;
  }

  const std::string& m_state;
  Problems& m_problems;
};

Json evaluate_node(const Node& node, const Json& input, const Json& context, const char* asl) {
  switch (node.kind) {
    case Node::Kind::Literal: return node.literal;
    case Node::Kind::Intrinsic: return node.intrinsic->evaluate(input, context);
    case Node::Kind::Path: {
      if (auto hit = node.path->select(input, context)) return std::move(*hit);
      const bool ctx = node.path->is_context();
      throw Error("lang.payload.path", asl,
                  "The JSONPath " + detail::quoted(node.path->text()) +
                      " specified for the field " + detail::quoted(node.field) +
                      " could not be found in the " + (ctx ? "context object " : "input ") +
                      detail::json_excerpt(ctx ? context : input),
                  {{"field", node.field}});
    }
    case Node::Kind::Object: {
      Json out = Json::object();
      for (std::size_t i = 0; i < node.items.size(); ++i)
        out[node.member_names[i]] = evaluate_node(node.items[i], input, context, asl);
      return out;
    }
    case Node::Kind::Array: {
      Json out = Json::array();
      for (const auto& child : node.items) out.push_back(evaluate_node(child, input, context, asl));
      return out;
    }
  }
  return Json();
}

}  // namespace

PayloadTemplate PayloadTemplate::compile(const Json& tmpl, const std::string& pointer,
                                         const std::string& state, Problems& problems) {
  PayloadTemplate out;
  out.m_root = std::make_shared<const Node>(Compiler(state, problems).value(tmpl, pointer, 0));
  return out;
}

Json PayloadTemplate::evaluate(const Json& input, const Json& context,
                               const char* path_failure_asl) const {
  if (!m_root) return Json();
  return evaluate_node(*m_root, input, context, path_failure_asl);
}

}  // namespace beamflow::lang
