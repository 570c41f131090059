// JSONPath as ASL uses it: parsing, selection (Jayway semantics), ResultPath
// assignment, and every error the path code raises.
#include "lang/path.hpp"

#include <string>

#include "test_util.hpp"

namespace beamflow::lang {
namespace {

using test::expect_error;
using test::J;

const Json kStore = J(R"({
  "store": {
    "book": [
      {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
      {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
      {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
       "isbn": "0-553-21311-3", "price": 8.99},
      {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord",
       "isbn": "0-395-19395-8", "price": 22.99}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "a b": 1, "a.b": 2, "it's": 3, "a-b": 4, "ключ": 5, "": 6
})");

std::optional<Json> sel(const char* path, const Json& input = kStore, const Json& ctx = Json()) {
  return Path::parse(path).select(input, ctx);
}

TEST(PathParse, RootAndContext) {
  const Path root = Path::parse("$");
  EXPECT_EQ(root.text(), "$");
  EXPECT_TRUE(root.is_root());
  EXPECT_FALSE(root.is_context());
  EXPECT_TRUE(root.is_reference());
  const Path ctx = Path::parse("$$");
  EXPECT_TRUE(ctx.is_root());
  EXPECT_TRUE(ctx.is_context());
  const Path item = Path::parse("$$.Map.Item.Value");
  EXPECT_TRUE(item.is_context());
  EXPECT_FALSE(item.is_root());
  EXPECT_TRUE(item.is_reference());
}

TEST(PathParse, ReferencePaths) {
  EXPECT_TRUE(Path::parse("$.a.b").is_reference());
  EXPECT_TRUE(Path::parse("$['a b'][0].c").is_reference());
  EXPECT_TRUE(Path::parse("$.a[12]").is_reference());
  EXPECT_FALSE(Path::parse("$.a[-1]").is_reference());
  EXPECT_FALSE(Path::parse("$.a[*]").is_reference());
  EXPECT_FALSE(Path::parse("$.*").is_reference());
  EXPECT_FALSE(Path::parse("$..a").is_reference());
  EXPECT_FALSE(Path::parse("$.a[0,1]").is_reference());
  EXPECT_FALSE(Path::parse("$.a[0:2]").is_reference());
  EXPECT_FALSE(Path::parse("$.a[?(@.x)]").is_reference());
  EXPECT_FALSE(Path::parse("$['a','b']").is_reference());
}

TEST(PathSelect, DefinitePaths) {
  EXPECT_EQ(sel("$"), kStore);
  EXPECT_EQ(sel("$.store.bicycle.color"), Json("red"));
  EXPECT_EQ(sel("$.store.book[0].author"), Json("Nigel Rees"));
  EXPECT_EQ(sel("$['store']['book'][1]['title']"), Json("Sword"));
  EXPECT_EQ(sel("$[\"store\"][\"bicycle\"].price"), Json(19.95));
  EXPECT_EQ(sel("$.store.book[-1].title"), Json("The Lord"));
  EXPECT_EQ(sel("$.store.book[-4].title"), Json("Sayings"));
  EXPECT_EQ(sel("$[ 'store' ][ 'book' ][ 0 ].price"), Json(8.95));
}

TEST(PathSelect, UnusualNames) {
  EXPECT_EQ(sel("$['a b']"), Json(1));
  EXPECT_EQ(sel("$['a.b']"), Json(2));
  EXPECT_EQ(sel("$['it\\'s']"), Json(3));
  EXPECT_EQ(sel("$[\"it's\"]"), Json(3));
  EXPECT_EQ(sel("$.a-b"), Json(4));
  EXPECT_EQ(sel("$.ключ"), Json(5));
  EXPECT_EQ(sel("$['\\u043a\\u043b\\u044e\\u0447']"), Json(5));
  EXPECT_EQ(sel("$['']"), Json(6));
  EXPECT_EQ(sel("$.a$b", J(R"({"a$b": 7})")), Json(7));
  EXPECT_EQ(sel("$['\\\\']", J(R"({"\\": 8})")), Json(8));
  EXPECT_EQ(sel("$['tab\\there']", J("{\"tab\\there\": 9}")), Json(9));
}

TEST(PathSelect, MissingDefiniteIsNullopt) {
  EXPECT_FALSE(sel("$.nope"));
  EXPECT_FALSE(sel("$.store.book[4]"));
  EXPECT_FALSE(sel("$.store.book[-5]"));
  EXPECT_FALSE(sel("$.store.bicycle[0]"));       // index into an object
  EXPECT_FALSE(sel("$.store.book.author"));      // name on an array
  EXPECT_FALSE(sel("$.store.bicycle.color.x"));  // name on a string
  EXPECT_FALSE(sel("$.a.b", J(R"({"a": null})")));
  EXPECT_FALSE(sel("$[0]", J("5")));
  // A present null is a match, not a miss.
  EXPECT_EQ(sel("$.a", J(R"({"a": null})")), Json());
}

TEST(PathSelect, Wildcards) {
  EXPECT_EQ(sel("$.store.bicycle.*"), J(R"(["red", 19.95])"));
  EXPECT_EQ(sel("$.store.book[*].author"),
            J(R"(["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"])"));
  EXPECT_EQ(sel("$.store.book.*.price"), J("[8.95, 12.99, 8.99, 22.99]"));
  EXPECT_EQ(sel("$.store.bicycle.color.*"), J("[]"));
  EXPECT_EQ(sel("$.nothing[*]"), J("[]"));
}

TEST(PathSelect, DeepScan) {
  EXPECT_EQ(sel("$..author"),
            J(R"(["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"])"));
  // Document order: the bicycle's price (key "bicycle" < "book") comes first.
  EXPECT_EQ(sel("$.store..price"), J("[19.95, 8.95, 12.99, 8.99, 22.99]"));
  EXPECT_EQ(sel("$..book[2].title"), J(R"(["Moby Dick"])"));
  EXPECT_EQ(sel("$..['isbn']"), J(R"(["0-553-21311-3", "0-395-19395-8"])"));
  EXPECT_EQ(sel("$..nothing"), J("[]"));
  EXPECT_EQ(sel("$..*", J(R"({"a": {"b": 1}, "c": [2]})")), J(R"([{"b": 1}, [2], 1, 2])"));
  // The node the scan starts from is itself scanned.
  EXPECT_EQ(sel("$..a", J(R"({"a": {"a": 1}})")), J(R"([{"a": 1}, 1])"));
}

TEST(PathSelect, SlicesAndUnions) {
  const Json arr = J("[0, 1, 2, 3, 4, 5]");
  EXPECT_EQ(sel("$[1:3]", arr), J("[1, 2]"));
  EXPECT_EQ(sel("$[:2]", arr), J("[0, 1]"));
  EXPECT_EQ(sel("$[4:]", arr), J("[4, 5]"));
  EXPECT_EQ(sel("$[-2:]", arr), J("[4, 5]"));
  EXPECT_EQ(sel("$[:-4]", arr), J("[0, 1]"));
  EXPECT_EQ(sel("$[::2]", arr), J("[0, 2, 4]"));
  EXPECT_EQ(sel("$[1:6:3]", arr), J("[1, 4]"));
  EXPECT_EQ(sel("$[10:20]", arr), J("[]"));
  EXPECT_EQ(sel("$[3:1]", arr), J("[]"));
  EXPECT_EQ(sel("$[:]", arr), arr);
  EXPECT_EQ(sel("$[0,2,9,-1]", arr), J("[0, 2, 5]"));
  EXPECT_EQ(sel("$[1:2]", J(R"({"a": 1})")), J("[]"));
}

TEST(PathSelect, NameUnionsFollowJayway) {
  // A final multi-name step merges into one object of the keys present.
  EXPECT_EQ(sel("$.store.book[0]['author','price','nope']"),
            J(R"({"author": "Nigel Rees", "price": 8.95})"));
  EXPECT_EQ(sel("$['x','y']", J("{}")), J("{}"));
  EXPECT_FALSE(sel("$['x','y']", J("[1]")));
  EXPECT_EQ(sel("$.store.book[0:2]['author','title']"),
            J(R"([{"author": "Nigel Rees", "title": "Sayings"},
                  {"author": "Evelyn Waugh", "title": "Sword"}])"));
  // Elsewhere it iterates the names.
  EXPECT_EQ(sel("$['a','b'].v", J(R"({"a": {"v": 1}, "b": {"v": 2}})")), J("[1, 2]"));
}

TEST(PathSelect, Filters) {
  EXPECT_EQ(sel("$.store.book[?(@.isbn)].title"), J(R"(["Moby Dick", "The Lord"])"));
  EXPECT_EQ(sel("$.store.book[?(@.price < 10)].title"), J(R"(["Sayings", "Moby Dick"])"));
  EXPECT_EQ(sel("$.store.book[?(@.price <= 8.99)].title"), J(R"(["Sayings", "Moby Dick"])"));
  EXPECT_EQ(sel("$.store.book[?(@.price > 20)].title"), J(R"(["The Lord"])"));
  EXPECT_EQ(sel("$.store.book[?(@.price >= 22.99)].title"), J(R"(["The Lord"])"));
  EXPECT_EQ(sel("$.store.book[?(@.category == 'reference')].title"), J(R"(["Sayings"])"));
  EXPECT_EQ(sel("$.store.book[?(@.category == \"reference\")].title"), J(R"(["Sayings"])"));
  EXPECT_EQ(sel("$.store.book[?(@.category != 'fiction')].title"), J(R"(["Sayings"])"));
  EXPECT_EQ(sel("$.store.book[?(@.category == 'fiction' && @.price < 10)].title"),
            J(R"(["Moby Dick"])"));
  EXPECT_EQ(sel("$.store.book[?(@.price < 9 || @.price > 20)].title"),
            J(R"(["Sayings", "Moby Dick", "The Lord"])"));
  EXPECT_EQ(sel("$..book[?(@.author > 'I')].title"), J(R"(["Sayings", "The Lord"])"));
  // No type coercion: a string never equals a number.
  EXPECT_EQ(sel("$[?(@.v == 1)].v", J(R"([{"v": 1}, {"v": "1"}, {"v": 1.0}])")), J("[1, 1.0]"));
  EXPECT_EQ(sel("$[?(@.v < 'z')]", J(R"([{"v": 1}])")), J("[]"));
  EXPECT_EQ(sel("$[?(@.v == null)]", J(R"([{"v": null}, {"w": 1}])")), J(R"([{"v": null}])"));
  EXPECT_EQ(sel("$[?(@.v == true)]", J(R"([{"v": true}, {"v": 1}])")), J(R"([{"v": true}])"));
  // Missing operand: comparisons fail, != holds (Jayway).
  EXPECT_EQ(sel("$[?(@.v != 1)]", J(R"([{"w": 1}, {"v": 1}])")), J(R"([{"w": 1}])"));
  EXPECT_EQ(sel("$[?(@['k v'][0] == 2)].id", J(R"([{"k v": [2], "id": 7}])")), J("[7]"));
  EXPECT_EQ(sel("$[?(@)]", J("[1, 2]")), J("[1, 2]"));
  // On an object the filter tests the object itself.
  EXPECT_EQ(sel("$.store.bicycle[?(@.color == 'red')].price"), J("[19.95]"));
  // In a deep scan every object is tested once.
  EXPECT_EQ(sel("$..[?(@.price > 19)].price"), J("[19.95, 22.99]"));
}

TEST(PathSelect, ContextObject) {
  const Json ctx =
      J(R"({"Map": {"Item": {"Index": 3, "Value": {"x": 1}}}, "Execution": {"Id": "e"}})");
  EXPECT_EQ(sel("$$.Map.Item.Value", kStore, ctx), J(R"({"x": 1})"));
  EXPECT_EQ(sel("$$.Execution.Id", kStore, ctx), Json("e"));
  EXPECT_EQ(sel("$$", kStore, ctx), ctx);
  EXPECT_FALSE(sel("$$.store", kStore, ctx));
}

TEST(PathSelect, DeeplyNestedInputDoesNotExhaustTheStack) {
  const std::size_t depth = 100000;
  const Json deep = Json::parse(std::string(depth, '[') + std::string(depth, ']'));
  EXPECT_EQ(sel("$..x", deep), J("[]"));
  EXPECT_EQ(sel("$..[?(@.x)]", deep), J("[]"));
}

struct BadPath {
  const char* text;
  const char* fragment;
};

class PathSyntax : public ::testing::TestWithParam<BadPath> {};

TEST_P(PathSyntax, IsRejectedWithItsReason) {
  const BadPath& bad = GetParam();
  expect_error([&] { Path::parse(bad.text); }, "lang.path.syntax", "States.Runtime", bad.fragment);
  std::string why;
  EXPECT_FALSE(Path::try_parse(bad.text, &why));
  EXPECT_NE(why.find(bad.fragment), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, PathSyntax,
    ::testing::Values(
        BadPath{"", "must begin with '$'"}, BadPath{"a.b", "must begin with '$'"},
        BadPath{" $.a", "must begin with '$'"},
        BadPath{"$a", "unexpected character 'a'; expected '.' or '['"},
        BadPath{"$$$", "unexpected character '$'"}, BadPath{"$.", "ends where a name is expected"},
        BadPath{"$..", "ends where a name is expected"},
        BadPath{"$...a", "unexpected character '.' at offset 3"},
        BadPath{"$.a b", "write names with spaces as ['a name']"},
        BadPath{"$.a ", "unexpected character ' '"}, BadPath{"$.a]", "unexpected character ']'"},
        BadPath{"$.a(", "unexpected character '('"},
        BadPath{"$.a.length()", "unexpected character '('"},
        BadPath{"$.'a'", "unexpected character '''"}, BadPath{"$[", "ends inside '['"},
        BadPath{"$[]", "unexpected character ']'"}, BadPath{"$['a'", "ends before ']'"},
        BadPath{"$['a", "unterminated quoted name"}, BadPath{"$['a\\", "unterminated quoted name"},
        BadPath{"$['a\\q']", "unknown escape '\\q'"}, BadPath{"$['\\u12", "truncated \\u escape"},
        BadPath{"$['\\u12zz']", "bad hex digit"}, BadPath{"$['\\ud800']", "unpaired surrogate"},
        BadPath{"$[abc]", "unexpected character 'a'"},
        BadPath{"$[1 2]", "unexpected character '2'"}, BadPath{"$[-]", "expected an integer"},
        BadPath{"$[99999999999999999999]", "index out of range"},
        BadPath{"$[1:2:0]", "slice step must be a positive integer"},
        BadPath{"$[::-1]", "slice step must be a positive integer"},
        BadPath{"$[?@.a]", "unexpected character '@'"},
        BadPath{"$[?(a == 1)]", "a filter term begins with '@'"},
        BadPath{"$[?(@.a == )]", "expected a number, a quoted string"},
        BadPath{"$[?(@.a == [1])]", "expected a number, a quoted string"},
        BadPath{"$[?(@.a == 1]", "unexpected character ']'"}, BadPath{"$[?(@.a", "ends before ')'"},
        BadPath{"$[*", "ends before ']'"}));

TEST(PathSyntax, OverlongPathIsRejected) {
  const std::string text = "$" + std::string(5000, 'a');
  expect_error([&] { Path::parse("$." + text); }, "lang.path.syntax", "States.Runtime",
               "is longer than 4096 characters");
  EXPECT_NO_THROW(Path::parse("$." + std::string(4000, 'a')));
}

TEST(PathSyntax, TryParseWithoutReason) {
  EXPECT_FALSE(Path::try_parse("$["));
  EXPECT_TRUE(Path::try_parse("$.a"));
}

TEST(PathSelectOrThrow, NamesThePathAndWhere) {
  const Path p = Path::parse("$.missing");
  expect_error([&] { p.select_or_throw(kStore, Json(), "States.ParameterPathFailure"); },
               "lang.path.no_match", "States.ParameterPathFailure",
               "Invalid path '$.missing': it matches nothing in the input");
  expect_error(
      [&] { Path::parse("$$.Map").select_or_throw(kStore, J("{}"), "States.IntrinsicFailure"); },
      "lang.path.no_match", "States.IntrinsicFailure", "matches nothing in the context object");
  EXPECT_EQ(Path::parse("$.a-b").select_or_throw(kStore, Json(), "States.Runtime"), Json(4));
  // An indefinite path never fails: it yields an empty array.
  EXPECT_EQ(Path::parse("$..zz").select_or_throw(kStore, Json(), "States.Runtime"), J("[]"));
}

TEST(PathAssign, RootReplaces) {
  EXPECT_EQ(Path::parse("$").assign(J(R"({"a": 1})"), J("[1]")), J("[1]"));
  EXPECT_EQ(Path::parse("$").assign(J("3"), J("null")), Json());
}

TEST(PathAssign, AddsOverwritesAndCreates) {
  const Json doc = J(R"({"a": 1, "b": {"c": 2}})");
  EXPECT_EQ(Path::parse("$.x").assign(doc, J("5")), J(R"({"a": 1, "b": {"c": 2}, "x": 5})"));
  EXPECT_EQ(Path::parse("$.a").assign(doc, J(R"({"y": 1})")),
            J(R"({"a": {"y": 1}, "b": {"c": 2}})"));
  EXPECT_EQ(Path::parse("$.b.d").assign(doc, J("true")),
            J(R"({"a": 1, "b": {"c": 2, "d": true}})"));
  EXPECT_EQ(Path::parse("$.p.q['r s']").assign(doc, J("0")),
            J(R"({"a": 1, "b": {"c": 2}, "p": {"q": {"r s": 0}}})"));
  // The input is copied, never modified.
  EXPECT_EQ(doc, J(R"({"a": 1, "b": {"c": 2}})"));
  // A leaf of any type is simply replaced.
  EXPECT_EQ(Path::parse("$.a.b").assign(J(R"({"a": {"b": [1, 2]}})"), J("3")),
            J(R"({"a": {"b": 3}})"));
}

TEST(PathAssign, IntoExistingArrays) {
  const Json doc = J(R"({"list": [{"v": 1}, {"v": 2}], "flat": [1, 2]})");
  EXPECT_EQ(Path::parse("$.list[1].w").assign(doc, J("9")),
            J(R"({"list": [{"v": 1}, {"v": 2, "w": 9}], "flat": [1, 2]})"));
  EXPECT_EQ(Path::parse("$.flat[0]").assign(doc, J("\"x\"")),
            J(R"({"list": [{"v": 1}, {"v": 2}], "flat": ["x", 2]})"));
}

TEST(PathAssign, FailsAcrossNonObjects) {
  const Json doc = J(R"({"s": "text", "n": null, "arr": [1], "o": {}})");
  const char* asl = "States.ResultPathMatchFailure";
  expect_error([&] { Path::parse("$.s.b").assign(doc, 1); }, "lang.path.assign", asl,
               "Unable to apply ResultPath '$.s.b': '$.s' is a string, not an object");
  expect_error([&] { Path::parse("$.n.b").assign(doc, 1); }, "lang.path.assign", asl,
               "'$.n' is null, not an object");
  expect_error([&] { Path::parse("$.arr.b").assign(doc, 1); }, "lang.path.assign", asl,
               "'$.arr' is an array, not an object");
  expect_error([&] { Path::parse("$.x").assign(J("[1]"), 1); }, "lang.path.assign", asl,
               "'$' is an array, not an object");
  expect_error([&] { Path::parse("$.x").assign(J("\"str\""), 1); }, "lang.path.assign", asl,
               "'$' is a string, not an object");
  expect_error([&] { Path::parse("$.arr[1]").assign(doc, 1); }, "lang.path.assign", asl,
               "'$.arr' has 1 elements; index 1 is out of range");
  expect_error([&] { Path::parse("$.o[0]").assign(doc, 1); }, "lang.path.assign", asl,
               "'$.o' is an object, not an array");
  expect_error([&] { Path::parse("$.missing[0]").assign(doc, 1); }, "lang.path.assign", asl,
               "'$.missing' does not exist (ResultPath creates objects, never arrays)");
  expect_error([&] { Path::parse("$['a b'].c").assign(J(R"({"a b": 1})"), 1); }, "lang.path.assign",
               asl, "'$['a b']' is a number, not an object");
}

TEST(PathAssign, RejectsNonReferencePaths) {
  const char* asl = "States.ResultPathMatchFailure";
  expect_error([] { Path::parse("$.a[*]").assign(J("{}"), 1); }, "lang.path.assign", asl,
               "is not a reference path into the input");
  expect_error([] { Path::parse("$$.a").assign(J("{}"), 1); }, "lang.path.assign", asl,
               "is not a reference path into the input");
}

}  // namespace
}  // namespace beamflow::lang
