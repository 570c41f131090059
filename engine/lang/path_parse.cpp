// Path syntax: "$" or "$$" followed by steps (see path.hpp). A hand-written
// scanner, iterative over steps, so path text of any shape costs one linear
// pass and fails with the offset of the first bad character.
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/path_impl.hpp"
#include "lang/detail/scanner.hpp"
#include "lang/detail/text.hpp"
#include "lang/path.hpp"

namespace beamflow::lang {
namespace {

using detail::FilterOp;
using detail::FilterTerm;
using detail::is_space;
using detail::RelStep;
using detail::Selector;
using detail::Step;

// Characters that end a name written after '.'. Jayway stops at '.', '[' and
// '('; we also stop at characters that can only be a typo there (brackets,
// quotes, whitespace) so they are reported instead of becoming part of a key.
bool ends_dot_name(char c) {
  return c == '.' || c == '[' || c == ']' || c == '(' || c == ')' || c == '\'' || c == '"' ||
         is_space(c) || static_cast<unsigned char>(c) < 0x20;
}

// Inside a filter a name also ends at an operator or the closing parenthesis.
bool ends_filter_name(char c) {
  return ends_dot_name(c) || c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' ||
         c == ',';
}

class Parser : detail::Scanner {
 public:
  explicit Parser(std::string_view text)
      : Scanner(text, "lang.path.syntax", states_error::Runtime, "Invalid path") {}

  Path::Impl run() {
    Path::Impl impl;
    impl.text = std::string(m_text);
    if (m_text.size() > detail::kMaxPathLength) {
      fail("is longer than " + std::to_string(detail::kMaxPathLength) + " characters", 0);
    }
    if (!consume('$')) fail("must begin with '$'", 0);
    impl.context = consume('$');
    while (!at_end()) impl.steps.push_back(parse_step());
    classify(impl);
    return impl;
  }

 private:
  void expect(char c, const char* what) {
    if (!consume(c)) fail_here(at_end() ? std::string("ends before ") + what : unexpected());
  }
  std::string unexpected() const {
    return std::string("unexpected character '") + peek() + "'" +
           (is_space(peek()) ? " (write names with spaces as ['a name'])" : "");
  }

  Step parse_step() {
    Step step;
    if (consume('.')) {
      if (consume('.')) {
        step.deep = true;
        if (peek() == '[') {
          step.sel = parse_bracket();
          return step;
        }
      }
      if (consume('*')) {
        step.sel.kind = Selector::Kind::Wildcard;
        return step;
      }
      step.sel.kind = Selector::Kind::Name;
      step.sel.names.push_back(read_name(ends_dot_name));
      return step;
    }
    if (peek() == '[') {
      step.sel = parse_bracket();
      return step;
    }
    fail_here(unexpected() + "; expected '.' or '['");
  }

  std::string read_name(bool (*ends)(char)) {
    const std::size_t start = m_pos;
    while (!at_end() && !ends(peek())) ++m_pos;
    if (m_pos == start) {
      fail_here(at_end() ? std::string("ends where a name is expected") : unexpected());
    }
    return std::string(m_text.substr(start, m_pos - start));
  }

  Selector parse_bracket() {
    expect('[', "'['");
    skip_space();
    Selector sel;
    if (consume('*')) {
      sel.kind = Selector::Kind::Wildcard;
    } else if (consume('?')) {
      sel.kind = Selector::Kind::Filter;
      parse_filter(sel.filter);
    } else if (peek() == '\'' || peek() == '"') {
      parse_names(sel);
    } else if (peek() == '-' || peek() == ':' || (peek() >= '0' && peek() <= '9')) {
      parse_indices(sel);
    } else {
      fail_here(at_end() ? std::string("ends inside '['") : unexpected());
    }
    skip_space();
    expect(']', "']'");
    return sel;
  }

  void parse_names(Selector& sel) {
    do {
      skip_space();
      sel.names.push_back(read_quoted());
      skip_space();
    } while (consume(','));
    sel.kind = sel.names.size() == 1 ? Selector::Kind::Name : Selector::Kind::Names;
  }

  void parse_indices(Selector& sel) {
    std::optional<std::int64_t> first;
    if (peek() != ':') first = read_int();
    skip_space();
    if (peek() == ':') {
      sel.kind = Selector::Kind::Slice;
      sel.start = first;
      consume(':');
      skip_space();
      if (peek() != ':' && peek() != ']') sel.end = read_int();
      skip_space();
      if (consume(':')) {
        skip_space();
        if (peek() != ']') {
          const std::size_t at = m_pos;
          sel.step = read_int();
          if (sel.step <= 0) fail("slice step must be a positive integer", at);
        }
      }
      return;
    }
    sel.indices.push_back(*first);
    while (consume(',')) {
      skip_space();
      sel.indices.push_back(read_int());
      skip_space();
    }
    sel.kind = sel.indices.size() == 1 ? Selector::Kind::Index : Selector::Kind::Indices;
  }

  std::int64_t read_int() {
    const std::size_t start = m_pos;
    if (peek() == '-') ++m_pos;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++m_pos;
    std::int64_t value = 0;
    const auto* first = m_text.data() + start;
    const auto* last = m_text.data() + m_pos;
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (first == last || ptr != last || ec != std::errc()) {
      m_pos = start;
      fail_here(ec == std::errc::result_out_of_range ? std::string("index out of range")
                                                     : "expected an integer");
    }
    return value;
  }

  // A quoted name or string literal, ' or ", with JSON-style escapes.
  std::string read_quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') {
      fail_here(at_end() ? std::string("ends where a name is expected") : unexpected());
    }
    ++m_pos;
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated quoted name", m_pos);
      const char c = m_text[m_pos++];
      if (c == quote) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated quoted name", m_pos);
      const char e = m_text[m_pos++];
      switch (e) {
        case '\\':
        case '\'':
        case '"':
        case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': detail::append_utf8(out, read_unicode_escape()); break;
        default: fail(std::string("unknown escape '\\") + e + "'", m_pos - 2);
      }
    }
  }

  char32_t read_hex4() {
    if (m_pos + 4 > m_text.size()) fail_here("truncated \\u escape");
    char32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = m_text[m_pos++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<char32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<char32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<char32_t>(c - 'A' + 10);
      else
        fail("bad hex digit in \\u escape", m_pos - 1);
    }
    return v;
  }

  char32_t read_unicode_escape() {
    const std::size_t at = m_pos - 2;
    const char32_t hi = read_hex4();
    if (hi < 0xD800 || hi > 0xDFFF) return hi;
    if (hi <= 0xDBFF && m_text.substr(m_pos, 2) == "\\u") {
      m_pos += 2;
      const char32_t lo = read_hex4();
      if (lo >= 0xDC00 && lo <= 0xDFFF) return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    }
    fail("unpaired surrogate in \\u escape", at);
  }

  // ?( term (&& term)* (|| term (&& term)*)* )
  void parse_filter(detail::Filter& filter) {
    skip_space();
    expect('(', "'('");
    filter.any_of.emplace_back();
    while (true) {
      skip_space();
      filter.any_of.back().push_back(parse_term());
      skip_space();
      if (m_text.substr(m_pos, 2) == "&&") {
        m_pos += 2;
      } else if (m_text.substr(m_pos, 2) == "||") {
        m_pos += 2;
        filter.any_of.emplace_back();
      } else {
        break;
      }
    }
    expect(')', "')'");
  }

  FilterTerm parse_term() {
    FilterTerm term;
    if (!consume('@')) {
      fail_here(at_end() ? std::string("ends inside a filter")
                         : unexpected() + "; a filter term begins with '@'");
    }
    while (peek() == '.' || peek() == '[') {
      RelStep rel;
      if (consume('.')) {
        rel.name = read_name(ends_filter_name);
      } else {
        consume('[');
        skip_space();
        if (peek() == '\'' || peek() == '"') {
          rel.name = read_quoted();
        } else {
          rel.index = read_int();
          rel.is_index = true;
        }
        skip_space();
        expect(']', "']'");
      }
      term.lhs.push_back(std::move(rel));
    }
    skip_space();
    term.op = read_op();
    if (term.op != FilterOp::Exists) {
      skip_space();
      term.literal = read_literal();
    }
    return term;
  }

  FilterOp read_op() {
    static constexpr std::pair<std::string_view, FilterOp> kOps[] = {
        {"==", FilterOp::Eq}, {"!=", FilterOp::Ne}, {"<=", FilterOp::Le},
        {">=", FilterOp::Ge}, {"<", FilterOp::Lt},  {">", FilterOp::Gt}};
    for (const auto& [text, op] : kOps) {
      if (m_text.substr(m_pos, text.size()) == text) {
        m_pos += text.size();
        return op;
      }
    }
    return FilterOp::Exists;
  }

  Json read_literal() {
    if (peek() == '\'' || peek() == '"') return read_quoted();
    const std::size_t start = m_pos;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '-' ||
                         peek() == '+' || peek() == '.')) {
      ++m_pos;
    }
    const std::string_view word = m_text.substr(start, m_pos - start);
    Json value = Json::parse(std::string(word), nullptr, /*allow_exceptions=*/false);
    if (word.empty() || value.is_discarded() || value.is_structured()) {
      fail("expected a number, a quoted string, true, false or null", start);
    }
    return value;
  }

  // Definite: every step selects at most one node (Jayway's rule, with a
  // final multi-name step counted as one merged object).
  static void classify(Path::Impl& impl) {
    for (std::size_t i = 0; i < impl.steps.size(); ++i) {
      const Step& s = impl.steps[i];
      const bool last = i + 1 == impl.steps.size();
      const auto kind = s.sel.kind;
      const bool single = kind == Selector::Kind::Name || kind == Selector::Kind::Index;
      if (s.deep || !single) impl.reference = false;
      if (kind == Selector::Kind::Index && s.sel.indices[0] < 0) impl.reference = false;
      if (kind == Selector::Kind::Names && last && !s.deep) {
        impl.merge_leaf = true;
        continue;
      }
      if (s.deep || !single) impl.definite = false;
    }
  }
};

}  // namespace

Path Path::parse(std::string_view text) {
  Path path;
  path.m_impl = std::make_shared<const Impl>(Parser(text).run());
  return path;
}

std::optional<Path> Path::try_parse(std::string_view text, std::string* why) {
  try {
    return parse(text);
  } catch (const Error& e) {
    if (why) *why = e.message();
    return std::nullopt;
  }
}

const std::string& Path::text() const noexcept { return m_impl->text; }
bool Path::is_context() const noexcept { return m_impl->context; }
bool Path::is_reference() const noexcept { return m_impl->reference; }
bool Path::is_root() const noexcept { return m_impl->steps.empty(); }
bool Path::is_definite() const noexcept { return m_impl->definite; }

}  // namespace beamflow::lang
