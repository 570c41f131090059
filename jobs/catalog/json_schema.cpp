#include "jobs/catalog/json_schema.hpp"

#include <regex>
#include <set>

#include "jobs/catalog/errors.hpp"
#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

const std::set<std::string> kKeywords = {
    "type", "enum", "const", "required", "properties", "additionalProperties", "items",
    "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "format", "description", "title",
    "$schema", "$id", "examples", "default"};
const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};

[[noreturn]] void bad_schema(const std::string& where, const std::string& what) {
  throw Error("catalog.collection.schema", kInvalidInput, "schema" + where + ": " + what, {{"field", "schema" + where}});
}

std::string type_of(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::null: return "null";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    default: return "number";
  }
}

bool has_type(const Json& v, const std::string& t) {
  const std::string actual = type_of(v);
  if (t == "number") return v.is_number();
  if (t == "integer" && v.is_number_float()) {
    const double d = v.get<double>();
    return d == static_cast<double>(static_cast<long long>(d));
  }
  return actual == t;
}

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

void check_at(const Json& s, const std::string& where) {
  if (s.is_boolean()) return;
  if (!s.is_object()) bad_schema(where, "must be an object or a boolean");
  for (const auto& [k, v] : s.items()) {
    const std::string at = where + "/" + escape_pointer(k);
    if (!kKeywords.count(k)) bad_schema(at, "unsupported keyword '" + k + "'");
    if (k == "type") {
      const Json list = v.is_array() ? v : Json::array({v});
      for (const auto& t : list)
        if (!t.is_string() || !kTypes.count(t.get<std::string>())) bad_schema(at, "unknown type " + t.dump());
    } else if (k == "properties") {
      if (!v.is_object()) bad_schema(at, "must be an object");
      for (const auto& [name, sub] : v.items()) check_at(sub, at + "/" + escape_pointer(name));
    } else if (k == "additionalProperties" || k == "items") {
      check_at(v, at);
    } else if (k == "required") {
      if (!v.is_array()) bad_schema(at, "must be an array of strings");
      for (const auto& r : v)
        if (!r.is_string()) bad_schema(at, "must be an array of strings");
    } else if (k == "enum") {
      if (!v.is_array() || v.empty()) bad_schema(at, "must be a non-empty array");
    } else if (k == "pattern") {
      if (!v.is_string()) bad_schema(at, "must be a string");
      try {
        std::regex re(v.get<std::string>(), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        bad_schema(at, std::string("not a regular expression: ") + e.what());
      }
    } else if (k == "format") {
      if (!v.is_string()) bad_schema(at, "must be a string");
    } else if (k == "minItems" || k == "maxItems" || k == "minLength" || k == "maxLength") {
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
        bad_schema(at, "must be a non-negative integer");
    } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
      if (!v.is_number()) bad_schema(at, "must be a number");
    } else if (k == "uniqueItems") {
      if (!v.is_boolean()) bad_schema(at, "must be a boolean");
    }
  }
}

using Result = std::optional<SchemaViolation>;

Result violation(const std::string& ptr, std::string message) {
  return SchemaViolation{ptr.empty() ? "/" : ptr, std::move(message)};
}

Result validate_at(const Json& s, const Json& v, const std::string& ptr) {
  if (s.is_boolean()) return s.get<bool>() ? Result{} : violation(ptr, "is not allowed");
  if (auto t = s.find("type"); t != s.end()) {
    const Json list = t->is_array() ? *t : Json::array({*t});
    bool ok = false;
    for (const auto& name : list) ok = ok || has_type(v, name.get<std::string>());
    if (!ok) {
      std::string want;
      for (const auto& name : list) want += (want.empty() ? "" : " or ") + name.get<std::string>();
      return violation(ptr, "must be " + want + ", got " + type_of(v));
    }
  }
  if (auto e = s.find("enum"); e != s.end()) {
    bool ok = false;
    for (const auto& option : *e) ok = ok || option == v;
    if (!ok) return violation(ptr, v.dump() + " is not one of " + e->dump());
  }
  if (auto c = s.find("const"); c != s.end() && *c != v)
    return violation(ptr, "must be " + c->dump());
  if (v.is_number()) {
    const double x = v.get<double>();
    if (auto m = s.find("minimum"); m != s.end() && x < m->get<double>())
      return violation(ptr, v.dump() + " is below the minimum " + m->dump());
    if (auto m = s.find("maximum"); m != s.end() && x > m->get<double>())
      return violation(ptr, v.dump() + " is above the maximum " + m->dump());
    if (auto m = s.find("exclusiveMinimum"); m != s.end() && x <= m->get<double>())
      return violation(ptr, v.dump() + " must be above " + m->dump());
    if (auto m = s.find("exclusiveMaximum"); m != s.end() && x >= m->get<double>())
      return violation(ptr, v.dump() + " must be below " + m->dump());
  }
  if (v.is_string()) {
    const auto& str = v.get_ref<const std::string&>();
    const auto length = utf8_length(str);
    if (auto m = s.find("minLength"); m != s.end() && length < m->get<std::size_t>())
      return violation(ptr, "shorter than " + m->dump() + " characters");
    if (auto m = s.find("maxLength"); m != s.end() && length > m->get<std::size_t>())
      return violation(ptr, "longer than " + m->dump() + " characters");
    if (auto p = s.find("pattern"); p != s.end()) {
      const std::regex re(p->get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(str, re)) return violation(ptr, "'" + str + "' does not match " + p->dump());
    }
    if (auto f = s.find("format"); f != s.end()) {
      const auto& format = f->get_ref<const std::string&>();
      if (format == "date" && !is_iso_date(str, false))
        return violation(ptr, "'" + str + "' is not a date (YYYY-MM-DD)");
      if (format == "date-time" && !is_iso_date(str, true))
        return violation(ptr, "'" + str + "' is not an RFC 3339 date-time");
    }
  }
  if (v.is_array()) {
    if (auto m = s.find("minItems"); m != s.end() && v.size() < m->get<std::size_t>())
      return violation(ptr, "needs at least " + m->dump() + " items");
    if (auto m = s.find("maxItems"); m != s.end() && v.size() > m->get<std::size_t>())
      return violation(ptr, "allows at most " + m->dump() + " items");
    if (auto u = s.find("uniqueItems"); u != s.end() && u->get<bool>())
      for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (v[i] == v[j]) return violation(ptr + "/" + std::to_string(i), "repeats item " + std::to_string(j));
    if (auto items = s.find("items"); items != s.end())
      for (std::size_t i = 0; i < v.size(); ++i)
        if (auto r = validate_at(*items, v[i], ptr + "/" + std::to_string(i))) return r;
  }
  if (v.is_object()) {
    if (auto req = s.find("required"); req != s.end())
      for (const auto& name : *req)
        if (!v.contains(name.get<std::string>()))
          return violation(ptr + "/" + escape_pointer(name.get<std::string>()), "is required");
    const auto props = s.find("properties");
    const auto extra = s.find("additionalProperties");
    for (const auto& [k, sub] : v.items()) {
      const std::string at = ptr + "/" + escape_pointer(k);
      if (props != s.end() && props->contains(k)) {
        if (auto r = validate_at((*props)[k], sub, at)) return r;
      } else if (extra != s.end()) {
        if (auto r = validate_at(*extra, sub, at)) return r;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

void check_schema(const Json& schema) { check_at(schema, ""); }

std::optional<SchemaViolation> validate_against(const Json& schema, const Json& value) {
  return validate_at(schema, value, "");
}

}  // namespace beamflow::catalog
