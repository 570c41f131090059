#pragma once
// Ternary composition sweeps for materials models:
//   ternary_grid  {"elements": [A, B, C], "step": 0.05}
//                 -> {"elements", "step", "points": [{"composition": {A: a, B: b, C: c}}, ...]}
//                 every composition with fractions on multiples of `step`
//   ternary_map   {"elements", "step", "points": [{"composition", "value"}], "file": "map.png", "width"?:
//   480}
//                 -> {"file", "width", "height", "points", "min", "max"}
//                 a greyscale map of the values over the composition triangle
#include <memory>
#include <vector>

#include "actions/action.hpp"
#include "io/png.hpp"

namespace beamflow::models {

// A value at grid point (i, j, k), i + j + k = divisions: fractions
// i / divisions of A, j / divisions of B, k / divisions of C.
struct TernaryValue {
  int i = 0, j = 0, k = 0;
  double value = 0;
};

// The triangle A (bottom left), B (bottom right), C (top), `width` pixels
// wide. Each pixel inside shows the value of the nearest grid point, from
// light grey (value 0) to black (value 1); values outside [0, 1] are
// clamped. Grid points without a value and the outside are white; the
// edges are black.
io::Gray8Image render_ternary(const std::vector<TernaryValue>& values, int divisions, int width);

std::shared_ptr<actions::Action> make_ternary_grid_action();
std::shared_ptr<actions::Action> make_ternary_map_action();

}  // namespace beamflow::models
