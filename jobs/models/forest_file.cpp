#include "jobs/models/forest_file.hpp"

#include <cmath>
#include <set>
#include <system_error>

#include "jobs/models/errors.hpp"
#include "jobs/models/tensor_h5.hpp"

namespace beamflow::models {

namespace h5 = io::h5;

std::int64_t ForestFile::output_columns() const {
  return link == "logistic" || link == "exponential_logistic" ? 2 : raw_columns;
}

namespace {

class Reader {
 public:
  explicit Reader(const std::filesystem::path& file)
      : m_path(file), m_site{"model.forest.read", model_asl::Corrupt, file.string()} {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) io::h5::fail(m_site, "forest file not found");
    m_file = io::h5::open_file(file, io::h5::Access::ReadOnly, std::nullopt, m_site);
  }

  [[noreturn]] void invalid(const std::string& what, const std::string& dataset = {}) const {
    Error::Context context{{"file", m_path.string()}};
    if (!dataset.empty()) context.emplace_back("dataset", dataset);
    throw model_error("model.forest.invalid", model_asl::Corrupt, "not a valid beamflow forest: " + what,
                      std::move(context));
  }

  std::string text(const std::string& name) const {
    auto v = io::h5::read_string_attribute(m_file.get(), name, m_site);
    if (!v) invalid("root attribute '" + name + "' is missing or not a string");
    return *v;
  }

  std::string one_of(const std::string& name, std::initializer_list<const char*> allowed) const {
    const std::string v = text(name);
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return v;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    invalid("root attribute " + name + " = '" + v + "' (expected one of: " + list + ")");
  }

  double number(const std::string& name) const {
    auto v = io::h5::read_double_attribute(m_file.get(), name, m_site);
    if (!v || v->size() != 1 || !std::isfinite((*v)[0]))
      invalid("root attribute '" + name + "' is missing or not a finite number");
    return (*v)[0];
  }

  std::int64_t count(const std::string& name, std::int64_t min, std::int64_t max) const {
    const double v = number(name);
    if (v != std::floor(v) || v < static_cast<double>(min) || v > static_cast<double>(max))
      invalid("root attribute " + name + " must be an integer in [" + std::to_string(min) + ", " +
              std::to_string(max) + "]");
    return static_cast<std::int64_t>(v);
  }

  template <class T>
  std::vector<T> vector(const std::string& name, hid_t type, std::size_t rank, Shape& shape) const {
    auto v = read_dataset<T>(m_file.get(), name, type, m_site, shape);
    if (shape.size() != rank) invalid("dataset must have rank " + std::to_string(rank), name);
    return v;
  }
  template <class T>
  std::vector<T> vector(const std::string& name, hid_t type, std::size_t expected_size) const {
    Shape shape;
    auto v = vector<T>(name, type, 1, shape);
    if (v.size() != expected_size)
      invalid("has " + std::to_string(v.size()) + " elements, expected " + std::to_string(expected_size),
              name);
    return v;
  }

  hid_t file() const { return m_file.get(); }
  const io::h5::Site& site() const { return m_site; }

 private:
  std::filesystem::path m_path;
  io::h5::Site m_site;
  io::h5::Handle m_file;
};

// A tree's nodes: each split's children come after it in the same tree, so
// every walk ends at a leaf, and every node but the root has one parent, so
// the nodes form a tree (no shared subtrees to blow up a walk).
void check_tree(const Reader& r, const ForestFile& f, std::size_t t) {
  const auto begin = static_cast<std::size_t>(f.tree_offsets[t]);
  const auto size = static_cast<std::int64_t>(f.tree_offsets[t + 1] - f.tree_offsets[t]);
  std::vector<int> parents(static_cast<std::size_t>(size), 0);
  for (std::int64_t local = 0; local < size; ++local) {
    const std::size_t n = begin + static_cast<std::size_t>(local);
    const std::string where = "tree " + std::to_string(t) + ", node " + std::to_string(local);
    if (f.left[n] == -1 || f.right[n] == -1) {
      if (f.left[n] != -1 || f.right[n] != -1 || f.feature[n] != -1)
        r.invalid(where + ": a leaf must have left = right = feature = -1", "left");
      for (std::int64_t v = 0; v < f.n_values; ++v)
        if (!std::isfinite(f.value[n * static_cast<std::size_t>(f.n_values) + static_cast<std::size_t>(v)]))
          r.invalid(where + ": leaf value is not finite", "value");
      continue;
    }
    if (f.feature[n] < 0 || f.feature[n] >= f.n_features)
      r.invalid(where + ": feature " + std::to_string(f.feature[n]) + " is outside [0, " +
                    std::to_string(f.n_features) + ")",
                "feature");
    if (std::isnan(f.threshold[n])) r.invalid(where + ": threshold is NaN", "threshold");
    for (auto child : {f.left[n], f.right[n]}) {
      if (child <= local || child >= size)
        r.invalid(where + ": child " + std::to_string(child) +
                      " must lie after the node inside its tree (size " + std::to_string(size) + ")",
                  child == f.left[n] ? "left" : "right");
      ++parents[static_cast<std::size_t>(child)];
    }
  }
  for (std::int64_t local = 1; local < size; ++local)
    if (parents[static_cast<std::size_t>(local)] != 1)
      r.invalid("tree " + std::to_string(t) + ", node " + std::to_string(local) + " has " +
                    std::to_string(parents[static_cast<std::size_t>(local)]) +
                    " parents (every node but the root has one)",
                "left");
}

}  // namespace

ForestFile read_forest_file(const std::filesystem::path& path) {
  const Reader r(path);
  ForestFile f;
  if (r.text("format") != kForestLayout)
    r.invalid("root attribute format is not '" + std::string(kForestLayout) + "'");
  const std::int64_t version = r.count("format_version", 1, 1 << 20);
  if (version != kForestLayoutVersion)
    r.invalid("layout version " + std::to_string(version) + " (this beamflow reads version " +
              std::to_string(kForestLayoutVersion) + ")");
  f.kind = r.one_of("kind", {"random_forest", "gradient_boosting"});
  f.task = r.one_of("task", {"classification", "regression"});
  f.aggregation = r.one_of("aggregation", {"mean", "sum"});
  f.link = r.one_of("link", {"identity", "logistic", "exponential_logistic", "softmax"});
  if (auto p = io::h5::read_string_attribute(r.file(), "producer", r.site())) f.producer = *p;
  f.n_features = r.count("n_features", 1, 1 << 24);
  f.raw_columns = r.count("raw_columns", 1, 1 << 16);
  f.learning_rate = r.number("learning_rate");
  if (f.aggregation == "mean" && f.link != "identity") r.invalid("a mean of trees takes the identity link");
  if ((f.link == "logistic" || f.link == "exponential_logistic") && f.raw_columns != 1)
    r.invalid("the logistic links take one raw column");
  if (f.link == "softmax" && (f.raw_columns < 2 || f.raw_columns > 128))
    r.invalid("the softmax link takes 2 to 128 raw columns");
  if (!(f.learning_rate > 0)) r.invalid("learning_rate must be positive");

  Shape shape;
  f.tree_offsets = r.vector<std::int64_t>("tree_offsets", H5T_NATIVE_INT64, 1, shape);
  if (f.tree_offsets.size() < 2 || f.tree_offsets.front() != 0)
    r.invalid("must start at 0 and describe at least one tree", "tree_offsets");
  for (std::size_t t = 0; t + 1 < f.tree_offsets.size(); ++t)
    if (f.tree_offsets[t + 1] <= f.tree_offsets[t] || f.tree_offsets[t + 1] > (std::int64_t{1} << 31) - 1)
      r.invalid(
          "must increase strictly (tree " + std::to_string(t) + " is empty or the offsets run backwards)",
          "tree_offsets");
  const auto nodes = static_cast<std::size_t>(f.tree_offsets.back());
  f.feature = r.vector<std::int32_t>("feature", H5T_NATIVE_INT32, nodes);
  f.threshold = r.vector<double>("threshold", H5T_NATIVE_DOUBLE, nodes);
  f.left = r.vector<std::int32_t>("left", H5T_NATIVE_INT32, nodes);
  f.right = r.vector<std::int32_t>("right", H5T_NATIVE_INT32, nodes);
  f.value = r.vector<double>("value", H5T_NATIVE_DOUBLE, 2, shape);
  if (shape[0] != static_cast<std::int64_t>(nodes) || shape[1] < 1)
    r.invalid("must be [nodes][values] with nodes = " + std::to_string(nodes), "value");
  f.n_values = shape[1];
  f.tree_column = r.vector<std::int32_t>("tree_column", H5T_NATIVE_INT32, f.n_trees());
  for (std::size_t t = 0; t < f.n_trees(); ++t)
    if (f.tree_column[t] < 0 || f.tree_column[t] + f.n_values > f.raw_columns)
      r.invalid("tree " + std::to_string(t) + " adds to columns outside the " +
                    std::to_string(f.raw_columns) + " raw columns",
                "tree_column");
  f.init = r.vector<double>("init", H5T_NATIVE_DOUBLE, static_cast<std::size_t>(f.raw_columns));
  for (double v : f.init)
    if (!std::isfinite(v)) r.invalid("initial prediction is not finite", "init");
  if (io::h5::exists(r.file(), "/classes")) {
    f.classes = read_strings(r.file(), "/classes", r.site());
    if (static_cast<std::int64_t>(f.classes.size()) != f.output_columns())
      r.invalid(std::to_string(f.classes.size()) + " class labels for " + std::to_string(f.output_columns()) +
                    " output columns",
                "classes");
  }
  for (std::size_t t = 0; t < f.n_trees(); ++t) check_tree(r, f, t);
  return f;
}

bool is_forest_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  io::h5::silence_errors();
  if (H5Fis_hdf5(file.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  try {
    const io::h5::Site site{"model.forest.read", model_asl::Corrupt, file.string()};
    io::h5::Handle f = io::h5::open_file(file, io::h5::Access::ReadOnly, std::nullopt, site);
    auto format = io::h5::read_string_attribute(f.get(), "format", site);
    return format && *format == kForestLayout;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace beamflow::models
