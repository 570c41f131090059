#pragma once
// The flat HDF5 layout of tree ensembles ("beamflow-forest", version 1;
// docs/models.md): what tools/export_forest.py writes and the forest runtime
// reads. Reading checks the whole structure, so the kernels never see an
// index out of range, a cycle or a non-finite number.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace beamflow::models {

inline constexpr const char* kForestLayout = "beamflow-forest";
inline constexpr std::int64_t kForestLayoutVersion = 1;

struct ForestFile {
  std::string kind;         // "random_forest" | "gradient_boosting"
  std::string task;         // "classification" | "regression"
  std::string aggregation;  // "mean" | "sum"
  std::string link;         // "identity" | "logistic" | "exponential_logistic" | "softmax"
  std::string producer;     // e.g. "scikit-learn 1.2.1 RandomForestClassifier"
  std::int64_t n_features = 0;
  std::int64_t raw_columns = 0;
  double learning_rate = 1.0;  // leaf values are stored unscaled

  std::vector<std::int64_t> tree_offsets;  // [trees + 1]
  std::vector<std::int32_t> tree_column;   // [trees]
  std::vector<std::int32_t> feature;       // [nodes], -1 at leaves
  std::vector<double> threshold;           // [nodes]
  std::vector<std::int32_t> left, right;   // [nodes], tree-local, -1 at leaves
  std::vector<double> value;               // [nodes][n_values], row-major
  std::int64_t n_values = 0;
  std::vector<double> init;          // [raw_columns]
  std::vector<std::string> classes;  // classifiers; may be empty

  std::size_t n_trees() const { return tree_offsets.empty() ? 0 : tree_offsets.size() - 1; }
  std::size_t n_nodes() const { return feature.size(); }
  // Columns of predict's output: 2 for the logistic links, else raw_columns.
  std::int64_t output_columns() const;
};

// Throws model.forest.read (not HDF5, truncated, a dataset missing) or
// model.forest.invalid (the structure breaks the layout's rules), with the
// file and the offending dataset in the context.
ForestFile read_forest_file(const std::filesystem::path& file);

// True for an HDF5 file whose root says format = "beamflow-forest".
bool is_forest_file(const std::filesystem::path& file);

}  // namespace beamflow::models
