// String and JSON intrinsics: States.Format, StringSplit, StringToJson,
// JsonToString, JsonMerge.
#include <string>
#include <unordered_set>

#include "lang/detail/intrinsic_node.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/limits.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang::detail {
namespace {

struct TooDeep {};

// A Format value in its natural string form: strings without quotes, other
// scalars as JSON. The spec: "The Value MUST NOT be a JSON array or object"
// (AWS itself prints objects Java-style; we keep to the spec).
void render(const Intrinsic::Node& call, const Args& args, std::size_t i, std::string& out) {
  const Json& value = args[i];
  if (value.is_structured()) {
    fail(call, "argument " + std::to_string(i + 1) +
                   " must be a string, number, boolean or null, not " + a_type(value));
  }
  out += value.is_string() ? value.get_ref<const std::string&>() : value.dump();
}

// Placeholders of a template that came from data: every "{}".
std::vector<std::size_t> placeholders_in(const std::string& text) {
  std::vector<std::size_t> at;
  for (std::size_t i = text.find("{}"); i != std::string::npos; i = text.find("{}", i + 2)) {
    at.push_back(i);
  }
  return at;
}

}  // namespace

Json fn_format(const Intrinsic::Node& call, Args& args) {
  const std::string& tmpl = string_arg(call, args, 0);
  const Intrinsic::Node& first = call.args[0];
  const std::vector<std::size_t> holes =
      first.kind == Intrinsic::Node::Kind::Literal ? first.placeholders : placeholders_in(tmpl);
  if (holes.size() != args.size() - 1) {
    fail(call, "the template has " + std::to_string(holes.size()) + " '{}' placeholder(s) but " +
                   std::to_string(args.size() - 1) + " value(s) were given");
  }
  std::string out;
  std::size_t from = 0;
  for (std::size_t i = 0; i < holes.size(); ++i) {
    out.append(tmpl, from, holes[i] - from);
    render(call, args, i + 1, out);
    from = holes[i] + 2;
  }
  out.append(tmpl, from, std::string::npos);
  return out;
}

Json fn_string_split(const Intrinsic::Node& call, Args& args) {
  const std::string& text = string_arg(call, args, 0);
  const std::string& delimiters = string_arg(call, args, 1);
  // Every character of the delimiter string splits; empty pieces are dropped
  // (AWS: "a,,b" split on "," gives ["a", "b"]).
  std::unordered_set<char32_t> split_on;
  for (std::size_t pos = 0; pos < delimiters.size();) {
    if (auto cp = next_code_point(delimiters, pos)) split_on.insert(*cp);
  }
  Json out = Json::array();
  std::size_t piece = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t at = pos;
    const auto cp = next_code_point(text, pos);
    if (!cp || !split_on.count(*cp)) continue;
    if (at > piece) out.push_back(text.substr(piece, at - piece));
    piece = pos;
  }
  if (text.size() > piece) out.push_back(text.substr(piece));
  return out;
}

Json fn_string_to_json(const Intrinsic::Node& call, Args& args) {
  const std::string& text = string_arg(call, args, 0);
  const auto guard = [](int depth, Json::parse_event_t, Json&) {
    if (static_cast<std::size_t>(depth) > kMaxDataDepth) throw TooDeep{};
    return true;
  };
  try {
    return Json::parse(text, guard);
  } catch (const TooDeep&) {
    fail(call, "the JSON nests deeper than " + std::to_string(kMaxDataDepth) + " levels");
  } catch (const Json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    std::string why = e.what();
    if (const auto close = why.find("] "); close != std::string::npos) why.erase(0, close + 2);
    fail(call, "argument 1 is not valid JSON: " + why);
  }
}

Json fn_json_to_string(const Intrinsic::Node& call, Args& args) {
  if (depth_exceeds(args[0], kMaxDataDepth)) {
    fail(call, "the value nests deeper than " + std::to_string(kMaxDataDepth) + " levels");
  }
  return args[0].dump();
}

Json fn_json_merge(const Intrinsic::Node& call, Args& args) {
  Json merged = object_arg(call, args, 0);
  const Json& overlay = object_arg(call, args, 1);
  if (!args[2].is_boolean()) {
    fail(call, "argument 3 (deep merge) must be a boolean, not " + a_type(args[2]));
  }
  if (args[2].get<bool>()) {
    fail(call, "deep merge is not supported (as in AWS); argument 3 must be false");
  }
  // Shallow: a key of the second object replaces the first one's whole value.
  for (const auto& [key, value] : overlay.items()) merged[key] = value;
  return merged;
}

}  // namespace beamflow::lang::detail
