#include "jobs/models/composition.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "jobs/models/errors.hpp"
#include "kernels/ml/composition.hpp"

namespace beamflow::models {

namespace {

[[noreturn]] void table_error(const std::filesystem::path& file, std::size_t line, const std::string& what) {
  Error::Context context{{"file", file.string()}};
  if (line) context.emplace_back("line", std::to_string(line));
  throw model_error("model.elements.invalid", model_asl::Corrupt, "element table: " + what,
                    std::move(context));
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  for (std::string cell; std::getline(s, cell, ',');) {
    const auto b = cell.find_first_not_of(" \t\r");
    const auto e = cell.find_last_not_of(" \t\r");
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

[[noreturn]] void composition_error(const std::string& where, const std::string& what) {
  throw input_error("model.composition.invalid", where + ": " + what);
}

// "Co60V10Zr30", "Co0.6 V0.1 Zr0.3", "CoZr2": (symbol, amount) pairs.
std::vector<std::pair<std::string, double>> parse_formula(const std::string& text, const std::string& where) {
  std::vector<std::pair<std::string, double>> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    if (!std::isupper(static_cast<unsigned char>(text[i])))
      composition_error(
          where, "cannot read formula '" + text + "' at '" + text.substr(i) +
                     "' (expected an element symbol such as Co; groups in parentheses are not supported)");
    std::string symbol(1, text[i++]);
    while (i < text.size() && std::islower(static_cast<unsigned char>(text[i]))) symbol += text[i++];
    const std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    double amount = 1.0;
    if (i > start) {
      const auto r = std::from_chars(text.data() + start, text.data() + i, amount);
      if (r.ec != std::errc() || r.ptr != text.data() + i)
        composition_error(where,
                          "bad amount '" + text.substr(start, i - start) + "' in formula '" + text + "'");
    }
    out.emplace_back(symbol, amount);
  }
  if (out.empty()) composition_error(where, "empty formula");
  return out;
}

}  // namespace

ElementTable ElementTable::read_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) table_error(file, 0, "cannot open the file");
  ElementTable t;
  std::string line;
  std::size_t number = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split_csv(line);
    if (!header) {
      if (cells.size() < 2 || cells[0] != "symbol")
        table_error(file, number, "the header must be symbol,PROPERTY,...");
      t.properties.assign(cells.begin() + 1, cells.end());
      header = true;
      continue;
    }
    if (cells.size() != t.properties.size() + 1)
      table_error(
          file, number,
          std::to_string(cells.size()) + " cells, the header has " + std::to_string(t.properties.size() + 1));
    if (t.index.count(cells[0])) table_error(file, number, "element " + cells[0] + " appears twice");
    t.index[cells[0]] = static_cast<int>(t.symbols.size());
    t.symbols.push_back(cells[0]);
    for (std::size_t j = 1; j < cells.size(); ++j) {
      double v = 0;
      const auto r = std::from_chars(cells[j].data(), cells[j].data() + cells[j].size(), v);
      if (r.ec != std::errc() || r.ptr != cells[j].data() + cells[j].size() || !std::isfinite(v))
        table_error(file, number,
                    "'" + cells[j] + "' (" + t.properties[j - 1] + " of " + cells[0] + ") is not a number");
      t.values.push_back(v);
    }
  }
  if (t.symbols.empty()) table_error(file, 0, "no elements");
  return t;
}

ElementTable ElementTable::select(const std::vector<std::string>& columns) const {
  ElementTable t;
  t.symbols = symbols;
  t.index = index;
  t.properties = columns;
  std::vector<std::size_t> at;
  for (const auto& c : columns) {
    std::size_t j = 0;
    while (j < properties.size() && properties[j] != c) ++j;
    if (j == properties.size())
      throw model_error("model.elements.invalid", model_asl::Corrupt,
                        "element table: no property column '" + c + "'", {{"property", c}});
    at.push_back(j);
  }
  for (std::size_t e = 0; e < symbols.size(); ++e)
    for (auto j : at) t.values.push_back(values[e * properties.size() + j]);
  return t;
}

std::vector<double> composition_fractions(const Json& composition, const ElementTable& table,
                                          const std::string& where) {
  std::vector<double> amount(table.symbols.size(), 0.0);
  auto add = [&](const std::string& symbol, double a, const std::string& at) {
    const auto it = table.index.find(symbol);
    if (it == table.index.end())
      composition_error(at, "element '" + symbol + "' is not in the model's element table");
    if (!std::isfinite(a) || a < 0)
      composition_error(at, "the amount of " + symbol + " must be a finite number >= 0");
    amount[static_cast<std::size_t>(it->second)] += a;
  };
  if (composition.is_object()) {
    for (const auto& [symbol, a] : composition.items()) {
      if (!a.is_number()) composition_error(where + "/" + symbol, "the amount must be a number");
      add(symbol, a.get<double>(), where + "/" + symbol);
    }
  } else if (composition.is_string()) {
    for (const auto& [symbol, a] : parse_formula(composition.get<std::string>(), where))
      add(symbol, a, where);
  } else {
    composition_error(where,
                      "a composition is an object {\"Co\": 0.6, ...} or a formula string \"Co60V10Zr30\"");
  }
  double total = 0;
  for (double a : amount) total += a;
  if (!(total > 0) || !std::isfinite(total))
    composition_error(where, "the composition has no positive amount");
  for (double& a : amount) a /= total;
  return amount;
}

namespace {

class MagpiePreprocessor final : public Preprocessor {
 public:
  MagpiePreprocessor(ElementTable table, Json spec) : m_table(std::move(table)), m_spec(std::move(spec)) {
    ensure_kokkos();
    const auto e = m_table.symbols.size(), p = m_table.properties.size();
    Kokkos::View<double**> props(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "beamflow::magpie::properties"), e, p);
    auto host = Kokkos::create_mirror_view(props);
    for (std::size_t i = 0; i < e; ++i)
      for (std::size_t j = 0; j < p; ++j) host(i, j) = m_table.values[i * p + j];
    Kokkos::deep_copy(props, host);
    m_properties = props;
  }

  Json input_spec() const override {
    return {{"type", "list"},
            {"description",
             "compositions: {\"Co\": 0.6, \"V\": 0.1, \"Zr\": 0.3} or formula strings such as "
             "\"Co60V10Zr30\""},
            {"item_type", {{"type", "python object"}, {"python_type", "pymatgen.core.Composition"}}}};
  }

  Json describe() const override {
    return {{"name", kMagpiePreprocessing},
            {"elements", m_table.symbols.size()},
            {"properties", m_table.properties},
            {"features", kernels::composition_feature_count(static_cast<int>(m_table.properties.size()))}};
  }

  Tensor apply(const Json& inputs, const std::string& where) const override {
    if (!inputs.is_array() || inputs.empty())
      throw input_error("model.input.shape", where + ": expected a non-empty array of compositions");
    const std::size_t rows = inputs.size(), elements = m_table.symbols.size();
    Kokkos::View<double**> f("beamflow::magpie::fractions", rows, elements);
    auto host = Kokkos::create_mirror_view(f);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto fr = composition_fractions(inputs[r], m_table, where + "/" + std::to_string(r));
      for (std::size_t e = 0; e < elements; ++e) host(r, e) = fr[e];
    }
    Kokkos::deep_copy(f, host);
    const auto features = static_cast<std::size_t>(
        kernels::composition_feature_count(static_cast<int>(m_table.properties.size())));
    Kokkos::View<double**> out("beamflow::magpie::features", rows, features);
    kernels::composition_features(f, m_properties, out);
    Tensor t(DType::Float64, {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(features)});
    Kokkos::deep_copy(
        Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace,
                     Kokkos::MemoryTraits<Kokkos::Unmanaged>>(t.data<double>().data(), rows, features),
        out);
    return t;
  }

 private:
  ElementTable m_table;
  Json m_spec;
  Kokkos::View<const double**> m_properties;
};

[[noreturn]] void spec_error(const std::string& pointer, const std::string& what) {
  throw model_error("model.metadata.invalid", model_asl::InvalidMetadata,
                    "invalid model metadata: " + pointer + ": " + what, {{"field", pointer}});
}

}  // namespace

std::unique_ptr<Preprocessor> load_magpie_preprocessor(const Json& spec,
                                                       const std::filesystem::path& model_dir,
                                                       const std::string& pointer) {
  const auto file = spec.find("elements");
  if (file == spec.end() || !file->is_string() || file->get<std::string>().find('/') != std::string::npos)
    spec_error(pointer + "/elements", "must name the element table file in the model's directory");
  ElementTable table = ElementTable::read_csv(model_dir / file->get<std::string>());
  if (const auto p = spec.find("properties"); p != spec.end()) {
    if (!p->is_array() || p->empty())
      spec_error(pointer + "/properties", "must be a non-empty array of column names");
    std::vector<std::string> columns;
    for (std::size_t i = 0; i < p->size(); ++i) {
      if (!(*p)[i].is_string()) spec_error(pointer + "/properties/" + std::to_string(i), "must be a string");
      columns.push_back((*p)[i].get<std::string>());
    }
    table = table.select(columns);
  }
  return std::make_unique<MagpiePreprocessor>(std::move(table), spec);
}

}  // namespace beamflow::models
