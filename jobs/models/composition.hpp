#pragma once
// Preprocessing "magpie-composition": chemical compositions in, Magpie-style
// feature rows out (kernels/composition.hpp), from an element property table
// shipped with the model (configs/data/elements.csv for the glass model).
//
// A composition is {"Co": 0.6, "V": 0.1, "Zr": 0.3} (amounts >= 0, at least
// one positive) or a formula string "Co60V10Zr30" / "Co0.6V0.1Zr0.3"
// (an element without a number counts 1). Amounts are normalised to atomic
// fractions, summing in table order.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/models/runtime.hpp"

namespace beamflow::models {

inline constexpr const char* kMagpiePreprocessing = "magpie-composition";

struct ElementTable {
  std::vector<std::string> symbols;     // table order
  std::vector<std::string> properties;  // column names after `symbol`
  std::vector<double> values;           // [element][property], row-major
  std::map<std::string, int> index;     // symbol -> row

  // CSV with '#' comment lines, a header `symbol,PROP,...` and one row per
  // element. Throws model.elements.invalid naming the file and line.
  static ElementTable read_csv(const std::filesystem::path& file);
  // The table restricted to `columns`, in that order; throws
  // model.elements.invalid for a column the table lacks.
  ElementTable select(const std::vector<std::string>& columns) const;
};

// One composition as atomic fractions over the table's elements. Throws
// model.composition.invalid naming the JSON pointer `where`.
std::vector<double> composition_fractions(const Json& composition, const ElementTable& table,
                                          const std::string& where);

// The preprocessing: spec {"name": "magpie-composition", "elements": FILE,
// "properties": [COLUMN, ...]} (properties default to every table column).
std::unique_ptr<Preprocessor> load_magpie_preprocessor(const Json& spec,
                                                       const std::filesystem::path& model_dir,
                                                       const std::string& pointer);

}  // namespace beamflow::models
