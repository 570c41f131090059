#include "jobs/models/ternary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "actions/builtin_action.hpp"
#include "jobs/models/errors.hpp"

namespace beamflow::models {

using actions::ActionRequest;
using actions::ActionState;
using actions::Field;
using actions::FieldType;

namespace {

constexpr int kMargin = 12;
constexpr double kSqrt3Over2 = 0.86602540378443864676;

[[noreturn]] void ternary_error(const std::string& pointer, const std::string& what) {
  throw input_error("model.ternary.invalid", pointer + ": " + what);
}

}  // namespace

io::Gray8Image render_ternary(const std::vector<TernaryValue>& values, int divisions, int width) {
  std::map<std::pair<int, int>, double> at;
  for (const auto& v : values) at[{v.i, v.j}] = v.value;
  const double side = width - 2.0 * kMargin;
  const double altitude = side * kSqrt3Over2;
  io::Gray8Image image;
  image.width = width;
  image.height = static_cast<int>(std::ceil(altitude)) + 2 * kMargin;
  image.pixels.assign(static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height), 255);
  const double ax = kMargin,
               ay = image.height - kMargin;  // A bottom left; B = A + (side, 0); C above the middle
  const int n = divisions;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      const double c = (ay - py) / altitude;
      const double b = (px - ax - c * side / 2) / side;
      const double a = 1 - b - c;
      const double edge = std::min({a, b, c}) * altitude;  // pixels to the nearest side
      if (edge < -0.5) continue;
      auto& pixel = image.pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width) +
                                 static_cast<std::size_t>(x)];
      if (edge < 1.0) {
        pixel = 0;
        continue;
      }
      double best = std::numeric_limits<double>::infinity();
      std::pair<int, int> nearest{-1, -1};
      for (int i : {static_cast<int>(std::floor(a * n)), static_cast<int>(std::ceil(a * n))})
        for (int j : {static_cast<int>(std::floor(b * n)), static_cast<int>(std::ceil(b * n))}) {
          const int k = n - i - j;
          if (i < 0 || j < 0 || k < 0) continue;
          const double d = std::pow(a - double(i) / n, 2) + std::pow(b - double(j) / n, 2) +
                           std::pow(c - double(k) / n, 2);
          if (d < best) best = d, nearest = {i, j};
        }
      const auto it = at.find(nearest);
      if (it == at.end()) continue;
      pixel = static_cast<std::uint8_t>(std::lround(230.0 * (1.0 - std::clamp(it->second, 0.0, 1.0))));
    }
  }
  return image;
}

namespace {

struct Triangle {
  std::vector<std::string> elements;
  int divisions = 0;
};

Triangle triangle(const Json& input) {
  Triangle t;
  t.elements = input["elements"].get<std::vector<std::string>>();
  if (t.elements.size() != 3 || std::set<std::string>(t.elements.begin(), t.elements.end()).size() != 3)
    ternary_error("/elements", "must name three different elements");
  const double step = input["step"].get<double>();
  t.divisions = static_cast<int>(std::lround(1.0 / step));
  if (std::fabs(t.divisions * step - 1.0) > 1e-9 || t.divisions > 1000)
    ternary_error("/step", "must divide 1 (0.1, 0.05, 0.02, ...) into at most 1000 steps");
  return t;
}

std::vector<Field> triangle_fields() {
  return {
      Field::of(FieldType::StringArray, "elements", "the three elements A, B, C").mandatory(),
      Field::of(FieldType::Number, "step", "grid step in atomic fraction").mandatory().above(0).at_most(0.5)};
}

class TernaryGridAction final : public actions::SyncAction {
 public:
  TernaryGridAction()
      : SyncAction("ternary_grid",
                   "Every composition of a three-element system on a grid of atomic fractions.",
                   actions::Effects::None, actions::InputSpec(triangle_fields())) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    const Triangle t = triangle(r.input);
    const int n = t.divisions;
    Json points = Json::array();
    for (int i = 0; i <= n; ++i)
      for (int j = 0; i + j <= n; ++j)
        points.push_back({{"composition",
                           {{t.elements[0], double(i) / n},
                            {t.elements[1], double(j) / n},
                            {t.elements[2], double(n - i - j) / n}}}});
    return ActionState::succeeded(r.action_id,
                                  {{"elements", t.elements}, {"step", r.input["step"]}, {"points", points}});
  }
};

// Writing the same map again gives the same file, so a re-run after a
// crash is harmless: no durable state is needed.
class TernaryMapAction final : public actions::SyncAction {
 public:
  TernaryMapAction()
      : SyncAction(
            "ternary_map", "Writes a PNG map of values over a ternary composition grid.",
            actions::Effects::None, actions::InputSpec([] {
              auto f = triangle_fields();
              f.push_back(Field::of(FieldType::Any, "points", "[{composition, value}]").mandatory());
              f.push_back(Field::of(FieldType::String, "file", "PNG file to write").mandatory().not_empty());
              f.push_back(
                  Field::of(FieldType::Integer, "width", "image width in pixels").at_least(64).at_most(4096));
              return f;
            }())) {}

 protected:
  ActionState compute(const ActionRequest& r) override {
    const Triangle t = triangle(r.input);
    const Json& points = r.input["points"];
    if (!points.is_array() || points.empty())
      ternary_error("/points", "must be a non-empty array of {composition, value}");
    std::vector<TernaryValue> values;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t p = 0; p < points.size(); ++p) {
      const std::string at = "/points/" + std::to_string(p);
      const Json& point = points[p];
      if (!point.is_object() || !point.contains("composition") || !point["composition"].is_object())
        ternary_error(at, "must be {\"composition\": {...}, \"value\": number}");
      if (!point.contains("value") || !point["value"].is_number() ||
          !std::isfinite(point["value"].get<double>()))
        ternary_error(at + "/value", "must be a finite number");
      int grid[3] = {0, 0, 0};
      for (const auto& [element, fraction] : point["composition"].items()) {
        const auto e = std::find(t.elements.begin(), t.elements.end(), element);
        const double x = fraction.is_number() ? fraction.get<double>() * t.divisions : -1;
        if (e == t.elements.end() || x < -1e-6 || std::fabs(x - std::round(x)) > 1e-6)
          ternary_error(at + "/composition/" + element,
                        "must be one of the three elements at a fraction on the grid");
        grid[e - t.elements.begin()] = static_cast<int>(std::lround(x));
      }
      if (grid[0] + grid[1] + grid[2] != t.divisions)
        ternary_error(at + "/composition", "fractions must sum to 1");
      const double v = point["value"].get<double>();
      values.push_back({grid[0], grid[1], grid[2], v});
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    std::filesystem::path file = r.input["file"].get<std::string>();
    if (file.is_relative()) file = r.work_dir / file;
    const io::Gray8Image image = render_ternary(values, t.divisions, r.input.value("width", 480));
    io::write_png(file, image);
    return ActionState::succeeded(r.action_id, {{"file", file.string()},
                                                {"width", image.width},
                                                {"height", image.height},
                                                {"points", values.size()},
                                                {"min", lo},
                                                {"max", hi}});
  }
};

}  // namespace

std::shared_ptr<actions::Action> make_ternary_grid_action() { return std::make_shared<TernaryGridAction>(); }
std::shared_ptr<actions::Action> make_ternary_map_action() { return std::make_shared<TernaryMapAction>(); }

}  // namespace beamflow::models
