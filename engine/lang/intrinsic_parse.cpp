// Intrinsic expressions: "States.Name(arg, ...)" where an argument is a
// 'string' (escapes \' \{ \} \\ only, as AWS documents), a number, true,
// false, null, a path, or a nested call. Parsed once into a tree. Argument
// values are checked when the call is evaluated, even when they are
// constants: AWS accepts States.ArrayRange(1, 9, 0) in a definition and fails
// the execution with States.IntrinsicFailure, which a Catch can handle.
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "lang/detail/intrinsic_node.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/scanner.hpp"
#include "lang/detail/text.hpp"
#include "lang/intrinsics.hpp"

namespace beamflow::lang {
namespace {

using Node = Intrinsic::Node;
constexpr std::string_view kPrefix = "States.";

using detail::is_space;
bool is_ident(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string arity(const detail::FunctionSpec& fn) {
  const auto plural = [](std::size_t n) {
    return std::to_string(n) + (n == 1 ? " argument" : " arguments");
  };
  if (fn.min_args == fn.max_args) return plural(fn.min_args);
  if (fn.max_args == static_cast<std::size_t>(-1)) return "at least " + plural(fn.min_args);
  return std::to_string(fn.min_args) + " to " + plural(fn.max_args);
}

class Parser : detail::Scanner {
 public:
  explicit Parser(std::string_view text)
      : Scanner(text, "lang.intrinsic.syntax", states_error::IntrinsicFailure,
                "Invalid intrinsic") {}

  Node run() {
    if (m_text.size() > detail::kMaxIntrinsicLength) {
      fail("is longer than " + std::to_string(detail::kMaxIntrinsicLength) + " characters", 0);
    }
    if (m_text.substr(0, kPrefix.size()) != kPrefix) fail("must begin with 'States.'", 0);
    Node root = parse_call();
    if (m_pos != m_text.size()) fail_here("unexpected text after the closing ')'");
    return root;
  }

 private:
  Node parse_call() {
    const std::size_t start = m_pos;
    m_pos += kPrefix.size();
    while (!at_end() && is_ident(peek())) ++m_pos;
    const std::string_view name = m_text.substr(start, m_pos - start);
    Node call;
    call.kind = Node::Kind::Call;
    call.function = detail::find_function(name);
    if (!call.function) fail("unknown intrinsic function '" + std::string(name) + "'", start);
    if (++m_calls > detail::kMaxIntrinsicCalls) {
      fail("more than " + std::to_string(detail::kMaxIntrinsicCalls) +
               " intrinsic functions in one expression",
           start);
    }
    skip_space();
    if (peek() != '(')
      fail_here(at_end() ? "ends before '('" : "expected '(' after " + std::string(name));
    ++m_pos;
    skip_space();
    if (peek() == ')') {
      ++m_pos;
    } else {
      while (true) {
        call.args.push_back(parse_arg());
        skip_space();
        if (at_end()) fail_here("ends before ')'");
        const char c = m_text[m_pos++];
        if (c == ')') break;
        if (c != ',')
          fail(std::string("unexpected character '") + c + "'; expected ',' or ')'", m_pos - 1);
      }
    }
    const auto& fn = *call.function;
    if (call.args.size() < fn.min_args || call.args.size() > fn.max_args) {
      fail(std::string(fn.name) + " takes " + arity(fn) + ", not " +
               std::to_string(call.args.size()),
           start);
    }
    return call;
  }

  Node parse_arg() {
    skip_space();
    if (at_end()) fail_here("ends where an argument is expected");
    if (peek() == '\'') return parse_string();
    if (peek() == '$') return parse_path();
    if (m_text.substr(m_pos, kPrefix.size()) == kPrefix) return parse_call();
    return parse_scalar();
  }

  // 'text' with \' \{ \} \\ escapes; any other backslash is an error (AWS:
  // "an open escape backslash ... will throw a runtime error").
  Node parse_string() {
    Node node;
    std::string out;
    bool brace_open = false;  // the last output char is an unescaped '{'
    ++m_pos;
    while (true) {
      if (at_end()) fail_here("unterminated string literal");
      const char c = m_text[m_pos++];
      if (c == '\'') break;
      if (c == '\\') {
        const char e = peek();
        if (e != '\'' && e != '{' && e != '}' && e != '\\') {
          fail(at_end() ? std::string("unterminated string literal")
                        : std::string("invalid escape '\\") + e +
                              "'; only \\' \\{ \\} and \\\\ are escapes",
               m_pos - 1);
        }
        out += e;
        ++m_pos;
        brace_open = false;
        continue;
      }
      if (c == '}' && brace_open) node.placeholders.push_back(out.size() - 1);
      brace_open = c == '{';
      out += c;
    }
    node.literal = std::move(out);
    return node;
  }

  // A path runs to the ',' or ')' that ends the argument; commas and
  // parentheses inside brackets (unions, filters) and quotes belong to it.
  Node parse_path() {
    const std::size_t start = m_pos;
    int depth = 0;
    char quote = 0;
    for (; !at_end(); ++m_pos) {
      const char c = peek();
      if (quote) {
        if (c == '\\')
          ++m_pos;
        else if (c == quote)
          quote = 0;
        continue;
      }
      if (depth > 0 && (c == '\'' || c == '"'))
        quote = c;
      else if (c == '[')
        ++depth;
      else if (c == ']')
        --depth;
      else if (depth <= 0 && (c == ',' || c == ')' || is_space(c)))
        break;
    }
    m_pos = std::min(m_pos, m_text.size());
    Node node;
    node.kind = Node::Kind::Path;
    try {
      node.path = Path::parse(m_text.substr(start, m_pos - start));
    } catch (const Error& e) {
      fail("bad path argument: " + e.message(), start);
    }
    return node;
  }

  Node parse_scalar() {
    const std::size_t start = m_pos;
    while (!at_end() && peek() != ',' && peek() != ')' && !is_space(peek())) ++m_pos;
    const std::string word(m_text.substr(start, m_pos - start));
    Node node;
    node.literal = Json::parse(word, nullptr, /*allow_exceptions=*/false);
    if (word.empty() || node.literal.is_discarded() || node.literal.is_structured() ||
        node.literal.is_string()) {
      fail("expected a 'string', a number, true, false, null, a path or an intrinsic, not '" +
               word + "'",
           start);
    }
    return node;
  }

  std::size_t m_calls = 0;
};

}  // namespace

bool looks_like_intrinsic(std::string_view text) noexcept {
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  std::size_t pos = kPrefix.size();
  const std::size_t ident = pos;
  while (pos < text.size() && is_ident(text[pos])) ++pos;
  if (pos == ident) return false;
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos < text.size() && text[pos] == '(';
}

Intrinsic Intrinsic::parse(std::string_view text) {
  Intrinsic out;
  out.m_root = std::make_shared<const Node>(Parser(text).run());
  out.m_text = std::string(text);
  return out;
}

const std::string& Intrinsic::text() const noexcept { return m_text; }

Json Intrinsic::evaluate(const Json& input, const Json& context) const {
  return detail::evaluate_node(*m_root, input, context);
}

namespace detail {

Json evaluate_node(const Intrinsic::Node& node, const Json& input, const Json& context) {
  switch (node.kind) {
    case Node::Kind::Literal: return node.literal;
    case Node::Kind::Path:
      return node.path->select_or_throw(input, context, states_error::IntrinsicFailure);
    case Node::Kind::Call: break;
  }
  Args args;
  args.reserve(node.args.size());
  for (const Node& arg : node.args) args.push_back(evaluate_node(arg, input, context));
  return node.function->impl(node, args);
}

}  // namespace detail
}  // namespace beamflow::lang
