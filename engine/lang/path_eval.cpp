// Path evaluation with Jayway JsonPath semantics (the library AWS Step
// Functions uses): a definite path yields its node or nothing; an indefinite
// one yields an array of every match, in document order. Everything here is
// iterative, so deeply nested input cannot exhaust the stack.
#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/path_impl.hpp"
#include "lang/detail/text.hpp"
#include "lang/path.hpp"

namespace beamflow::lang {
namespace detail {
namespace {

using Nodes = std::vector<const Json*>;

// Index `i` of `array`, negative counting from the end; null when outside.
const Json* element(const Json& array, std::int64_t i) {
  const auto size = static_cast<std::int64_t>(array.size());
  if (i < 0) i += size;
  if (i < 0 || i >= size) return nullptr;
  return &array[static_cast<std::size_t>(i)];
}

// Python slice semantics for a positive step.
void slice(const Json& array, const Selector& sel, Nodes& out) {
  const auto size = static_cast<std::int64_t>(array.size());
  const auto clamp = [size](std::int64_t i) {
    if (i < 0) i += size;
    return std::clamp<std::int64_t>(i, 0, size);
  };
  const std::int64_t from = sel.start ? clamp(*sel.start) : 0;
  const std::int64_t to = sel.end ? clamp(*sel.end) : size;
  for (std::int64_t i = from; i < to; i += sel.step)
    out.push_back(&array[static_cast<std::size_t>(i)]);
}

void apply(const Selector& sel, const Json& node, bool deep, Nodes& out) {
  switch (sel.kind) {
    case Selector::Kind::Name:
    case Selector::Kind::Names:
      if (!node.is_object()) return;
      for (const auto& name : sel.names) {
        if (auto it = node.find(name); it != node.end()) out.push_back(&*it);
      }
      return;
    case Selector::Kind::Index:
    case Selector::Kind::Indices:
      if (!node.is_array()) return;
      for (const auto i : sel.indices) {
        if (const Json* hit = element(node, i)) out.push_back(hit);
      }
      return;
    case Selector::Kind::Wildcard:
      if (!node.is_structured()) return;
      for (const auto& child : node) out.push_back(&child);
      return;
    case Selector::Kind::Slice:
      if (node.is_array()) slice(node, sel, out);
      return;
    case Selector::Kind::Filter:
      // Jayway tests an object itself and an array's elements. In a deep scan
      // every element is visited on its own, so only objects are tested.
      if (node.is_object()) {
        if (filter_accepts(sel.filter, node)) out.push_back(&node);
      } else if (node.is_array() && !deep) {
        for (const auto& child : node) {
          if (filter_accepts(sel.filter, child)) out.push_back(&child);
        }
      }
      return;
  }
}

// `node` and every descendant, in document (pre-)order.
Nodes descendants_and_self(const Json& node) {
  Nodes out;
  Nodes stack{&node};
  while (!stack.empty()) {
    const Json* n = stack.back();
    stack.pop_back();
    out.push_back(n);
    if (!n->is_structured()) continue;
    const std::size_t mark = stack.size();
    for (const auto& child : *n) stack.push_back(&child);
    std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(mark), stack.end());
  }
  return out;
}

const Json* follow(const std::vector<RelStep>& steps, const Json& start) {
  const Json* cur = &start;
  for (const auto& s : steps) {
    if (s.is_index) {
      if (!cur->is_array() || !(cur = element(*cur, s.index))) return nullptr;
    } else {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(s.name);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  return cur;
}

// No type coercion: numbers compare with numbers, strings with strings.
bool term_holds(const FilterTerm& term, const Json& candidate) {
  const Json* lhs = follow(term.lhs, candidate);
  if (term.op == FilterOp::Exists) return lhs != nullptr;
  if (term.op == FilterOp::Ne) {
    FilterTerm eq = term;
    eq.op = FilterOp::Eq;
    return !term_holds(eq, candidate);
  }
  if (!lhs) return false;
  const Json& rhs = term.literal;
  std::partial_ordering order = std::partial_ordering::unordered;
  if (lhs->is_number() && rhs.is_number()) {
    order = compare_numbers(*lhs, rhs);
  } else if (lhs->is_string() && rhs.is_string()) {
    order =
        compare_utf16(lhs->get_ref<const std::string&>(), rhs.get_ref<const std::string&>()) <=> 0;
  } else if (term.op == FilterOp::Eq) {
    return *lhs == rhs;
  }
  switch (term.op) {
    case FilterOp::Eq: return order == 0;
    case FilterOp::Lt: return order < 0;
    case FilterOp::Le: return order <= 0;
    case FilterOp::Gt: return order > 0;
    case FilterOp::Ge: return order >= 0;
    default: return false;
  }
}

std::string step_text(const Step& step) {
  const Selector& sel = step.sel;
  if (sel.kind == Selector::Kind::Index) return "[" + std::to_string(sel.indices[0]) + "]";
  const std::string& name = sel.names.front();
  const bool plain = !name.empty() && name.find_first_of(".[]()'\" \t\r\n") == std::string::npos;
  return plain ? "." + name : "['" + name + "']";
}

}  // namespace

bool filter_accepts(const Filter& filter, const Json& candidate) {
  return std::any_of(filter.any_of.begin(), filter.any_of.end(), [&](const auto& all_of) {
    return std::all_of(all_of.begin(), all_of.end(),
                       [&](const FilterTerm& t) { return term_holds(t, candidate); });
  });
}

std::string reference_prefix(const Path::Impl& impl, std::size_t count) {
  std::string out = impl.context ? "$$" : "$";
  for (std::size_t i = 0; i < count && i < impl.steps.size(); ++i) out += step_text(impl.steps[i]);
  return out;
}

}  // namespace detail

std::optional<Json> Path::select(const Json& input, const Json& context) const {
  const Impl& impl = *m_impl;
  detail::Nodes current{impl.context ? &context : &input};
  const std::size_t walked = impl.steps.size() - (impl.merge_leaf ? 1 : 0);
  for (std::size_t i = 0; i < walked; ++i) {
    const detail::Step& step = impl.steps[i];
    detail::Nodes next;
    for (const Json* node : current) {
      if (!step.deep) {
        detail::apply(step.sel, *node, false, next);
        continue;
      }
      for (const Json* n : detail::descendants_and_self(*node))
        detail::apply(step.sel, *n, true, next);
    }
    current = std::move(next);
  }

  std::vector<Json> matches;
  if (impl.merge_leaf) {
    // Jayway: a final ['a','b'] yields one object per node holding the keys
    // that exist (possibly none); non-objects yield nothing.
    for (const Json* node : current) {
      if (!node->is_object()) continue;
      Json merged = Json::object();
      for (const auto& name : impl.steps.back().sel.names) {
        if (auto it = node->find(name); it != node->end()) merged[name] = *it;
      }
      matches.push_back(std::move(merged));
    }
  } else {
    matches.reserve(current.size());
    for (const Json* node : current) matches.push_back(*node);
  }
  if (impl.definite) {
    if (matches.empty()) return std::nullopt;
    return std::move(matches.front());
  }
  return Json(std::move(matches));
}

Json Path::select_or_throw(const Json& input, const Json& context, const char* asl_name) const {
  if (auto hit = select(input, context)) return std::move(*hit);
  throw Error("lang.path.no_match", asl_name,
              "Invalid path " + detail::quoted(text()) + ": it matches nothing in the " +
                  (is_context() ? "context object" : "input"));
}

Json Path::assign(const Json& doc, Json value) const {
  const Impl& impl = *m_impl;
  const auto fail = [&](std::size_t depth, const std::string& why) -> Error {
    return Error("lang.path.assign", states_error::ResultPathMatchFailure,
                 "Unable to apply ResultPath " + detail::quoted(text()) + ": " +
                     detail::quoted(detail::reference_prefix(impl, depth)) + " " + why);
  };
  if (!impl.reference || impl.context) {
    throw fail(0, "is not a reference path into the input");
  }
  if (impl.steps.empty()) return value;
  Json out = doc;
  Json* cur = &out;
  for (std::size_t i = 0; i < impl.steps.size(); ++i) {
    const detail::Selector& sel = impl.steps[i].sel;
    const bool last = i + 1 == impl.steps.size();
    if (sel.kind == detail::Selector::Kind::Index) {
      if (!cur->is_array()) throw fail(i, "is " + detail::a_type(*cur) + ", not an array");
      const auto index = static_cast<std::size_t>(sel.indices[0]);
      if (index >= cur->size()) {
        throw fail(i, "has " + std::to_string(cur->size()) + " elements; index " +
                          std::to_string(index) + " is out of range");
      }
      cur = &(*cur)[index];
    } else {
      // An intermediate object is created when missing; any other existing
      // value (null included) cannot take a key.
      if (!cur->is_object()) throw fail(i, "is " + detail::a_type(*cur) + ", not an object");
      const std::string& name = sel.names[0];
      auto it = cur->find(name);
      if (it == cur->end() && !last &&
          impl.steps[i + 1].sel.kind == detail::Selector::Kind::Index) {
        throw fail(i + 1, "does not exist (ResultPath creates objects, never arrays)");
      }
      cur = it != cur->end() ? &*it : &((*cur)[name] = last ? Json() : Json::object());
    }
    if (last) *cur = std::move(value);
  }
  return out;
}

}  // namespace beamflow::lang
