#include "core/json_parse.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace beamflow {
namespace {

struct TooDeep {
  std::size_t offset;
};

// nlohmann's DOM builder behind a depth counter: start_object/start_array
// past the limit stop the parse before anything deeper is read or built.
class DepthLimitedSax {
 public:
  using Dom = nlohmann::detail::json_sax_dom_parser<Json>;
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  DepthLimitedSax(Json& result, std::size_t max_depth) : m_dom(result, true), m_max_depth(max_depth) {}

  bool null() { return m_dom.null(); }
  bool boolean(bool v) { return m_dom.boolean(v); }
  bool number_integer(number_integer_t v) { return m_dom.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return m_dom.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return m_dom.number_float(v, s); }
  bool string(string_t& v) { return m_dom.string(v); }
  bool binary(binary_t& v) { return m_dom.binary(v); }
  bool start_object(std::size_t n) {
    enter();
    return m_dom.start_object(n);
  }
  bool key(string_t& k) { return m_dom.key(k); }
  bool end_object() {
    --m_depth;
    return m_dom.end_object();
  }
  bool start_array(std::size_t n) {
    enter();
    return m_dom.start_array(n);
  }
  bool end_array() {
    --m_depth;
    return m_dom.end_array();
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    // json_sax_dom_parser would rethrow `ex` sliced to its base class.
    if (const auto* pe = dynamic_cast<const Json::parse_error*>(&ex)) throw *pe;
    if (const auto* oor = dynamic_cast<const Json::out_of_range*>(&ex)) throw *oor;
    return m_dom.parse_error(position, last_token, ex);
  }


 private:
  void enter() {
    if (++m_depth > m_max_depth) throw TooDeep{0};
  }
  Dom m_dom;
  std::size_t m_max_depth;
  std::size_t m_depth = 0;
};

// The byte offset of the bracket that went too deep: the (max_depth+1)-th
// unclosed bracket outside strings. Only computed on the error path.
std::size_t deep_offset(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
  return text.size();
}

Error too_deep(const std::string& source, std::size_t max_depth, std::optional<std::size_t> offset) {
  Error::Context ctx{{"source", source}, {"limit", std::to_string(max_depth)}};
  if (offset) ctx.emplace_back("offset", std::to_string(*offset));
  return Error("json.too_deep", states_error::DataLimitExceeded,
               "the document nests deeper than " + std::to_string(max_depth) + " levels", std::move(ctx));
}

std::string reason(const Json::parse_error& e) {
  // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
  std::string why = e.what();
  if (const auto p = why.find("syntax error"); p != std::string::npos) why.erase(0, p);
  else if (const auto c = why.find("] "); c != std::string::npos) why.erase(0, c + 2);
  return why;
}

}  // namespace

Json parse_json_keep_syntax_errors(std::string_view text, const std::string& source, std::size_t max_depth) {
  Json result;
  DepthLimitedSax sax(result, max_depth);
  try {
    Json::sax_parse(text.begin(), text.end(), &sax, Json::input_format_t::json, /*strict=*/true);
  } catch (const TooDeep&) {
    throw too_deep(source, max_depth, deep_offset(text, max_depth));
  }
  return result;
}

Json parse_json(std::string_view text, const std::string& source, std::size_t max_depth) {
  try {
    return parse_json_keep_syntax_errors(text, source, max_depth);
  } catch (const Json::parse_error& e) {
    const std::size_t offset = e.byte > 0 ? std::min<std::size_t>(e.byte - 1, text.size()) : 0;
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    throw Error("json.syntax", states_error::Runtime, "not valid JSON: " + reason(e),
                {{"source", source}, {"line", std::to_string(line)}, {"column", std::to_string(col)},
                 {"offset", std::to_string(offset)}});
  } catch (const Json::exception& e) {
    // out_of_range: a number beyond a double ("1e999").
    throw Error("json.syntax", states_error::Runtime, std::string("not valid JSON: ") + e.what(),
                {{"source", source}});
  }
}

Json parse_json_as(std::string_view text, const std::string& source, const std::string& id,
                   const std::string& asl_name, const std::string& what, Error::Context context) {
  try {
    return parse_json(text, source);
  } catch (const Error& e) {
    for (const auto& pair : e.context()) context.push_back(pair);
    throw Error(id, asl_name, what + ": " + e.message(), std::move(context));
  }
}

std::optional<Json> try_parse_json(std::string_view text, std::size_t max_depth) {
  try {
    return parse_json_keep_syntax_errors(text, "", max_depth);
  } catch (const Error&) {
    return std::nullopt;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

Json parse_cbor(const std::vector<std::uint8_t>& bytes, const std::string& source, std::size_t max_depth) {
  Json result;
  DepthLimitedSax sax(result, max_depth);
  try {
    Json::sax_parse(bytes, &sax, Json::input_format_t::cbor, /*strict=*/true);
  } catch (const TooDeep&) {
    throw too_deep(source, max_depth, std::nullopt);
  } catch (const Json::parse_error& e) {
    throw Error("json.syntax", states_error::Runtime, std::string("not valid CBOR: ") + reason(e),
                {{"source", source}, {"offset", std::to_string(e.byte)}});
  } catch (const Json::exception& e) {
    throw Error("json.syntax", states_error::Runtime, std::string("not valid CBOR: ") + e.what(),
                {{"source", source}});
  }
  return result;
}

std::string dump_compact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace beamflow
