#include "jobs/tomography/center_spec.hpp"
#include "core/json_parse.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {

namespace {
Error bad(const std::string& source, const std::string& why) {
  return usage_error("center", "--center '" + source + "': " + why);
}

std::optional<double> number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) out.push_back(item);
  return out;
}

CenterSpec constant(double v, std::string source) {
  CenterSpec s;
  s.kind = CenterSpec::Kind::Value;
  s.value = v;
  s.source = std::move(source);
  return s;
}

CenterSpec list(std::vector<double> values, std::string source) {
  if (values.size() == 1) return constant(values[0], std::move(source));
  CenterSpec s;
  s.kind = CenterSpec::Kind::PerSlice;
  s.per_slice = std::move(values);
  s.source = std::move(source);
  return s;
}

CenterSpec from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw bad(path, "neither auto, a number, a list, fit:... nor a readable file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    try {
      return CenterSpec::from_json(parse_json_keep_syntax_errors(text, path), path);
    } catch (const Json::exception& e) {
      throw bad(path, std::string("not valid JSON: ") + e.what());
    }
  }
  std::vector<double> values;
  std::string token;
  std::stringstream words(text);
  while (words >> token)
    for (const auto& item : split(token, ',')) {
      if (item.empty()) continue;
      auto v = number(item);
      if (!v) throw bad(path, "'" + item + "' is not a number");
      values.push_back(*v);
    }
  if (values.empty()) throw bad(path, "the file holds no centre");
  return list(std::move(values), path);
}
}  // namespace

LinearFit fit_line(const std::vector<double>& rows, const std::vector<double>& centers,
                   const std::vector<double>& weights) {
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    sw += w;
    sx += w * rows[i];
    sy += w * centers[i];
  }
  if (rows.empty() || !(sw > 0)) throw usage_error("center", "no centre to fit a line through");
  const double mx = sx / sw, my = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double w = weights.empty() ? 1.0 : weights[i];
    sxx += w * (rows[i] - mx) * (rows[i] - mx);
    sxy += w * (rows[i] - mx) * (centers[i] - my);
  }
  if (sxx <= 0) return {my, 0};
  const double slope = sxy / sxx;
  return {my - slope * mx, slope};
}

CenterSpec CenterSpec::from_json(const Json& j, const std::string& source) {
  if (j.is_number()) return constant(j.get<double>(), source);
  if (j.is_array()) {
    std::vector<double> values;
    for (const auto& v : j) {
      if (!v.is_number()) throw bad(source, "the JSON array holds a non-number");
      values.push_back(v.get<double>());
    }
    if (values.empty()) throw bad(source, "the JSON array is empty");
    return list(std::move(values), source);
  }
  if (j.is_object() && j.contains("fit") && j["fit"].is_object()) {
    CenterSpec s;
    s.kind = Kind::Fit;
    s.line = {j["fit"].value("intercept", 0.0), j["fit"].value("slope", 0.0)};
    s.source = source;
    return s;
  }
  if (j.is_object() && j.contains("center") && j["center"].is_number())
    return constant(j["center"].get<double>(), source);
  throw bad(source, "the JSON holds neither a centre, a list of centres nor a fit");
}

CenterSpec CenterSpec::parse(const std::string& text) {
  if (text == "auto" || text.starts_with("auto:")) {
    CenterSpec s;
    s.source = text;
    if (text.size() > 5) {
      auto k = number(text.substr(5));
      if (!k || *k < 1 || *k != std::floor(*k) || *k > 1e6) throw bad(text, "auto:K wants K >= 1 rows");
      s.samples = static_cast<int>(*k);
    }
    return s;
  }
  if (auto v = number(text)) return constant(*v, text);
  if (text.starts_with("fit:")) {
    std::vector<double> rows, centers;
    for (const auto& point : split(text.substr(4), ',')) {
      const auto eq = point.find('=');
      auto row = number(point.substr(0, eq));
      auto center = eq == std::string::npos ? std::nullopt : number(point.substr(eq + 1));
      if (!row || !center) throw bad(text, "fit: wants ROW=CENTRE pairs separated by commas");
      rows.push_back(*row);
      centers.push_back(*center);
    }
    CenterSpec s;
    s.kind = Kind::Fit;
    s.line = fit_line(rows, centers);
    s.source = text;
    return s;
  }
  if (text.find(',') != std::string::npos && !std::filesystem::exists(text)) {
    std::vector<double> values;
    for (const auto& item : split(text, ',')) {
      auto v = number(item);
      if (!v) throw bad(text, "'" + item + "' is not a number");
      values.push_back(*v);
    }
    return list(std::move(values), text);
  }
  return from_file(text);
}

std::vector<double> CenterSpec::resolve(parallel::RowRange rows) const {
  const auto n = static_cast<std::size_t>(rows.size());
  switch (kind) {
    case Kind::Value:
      return std::vector<double>(n, value);
    case Kind::PerSlice:
      if (per_slice.size() != n)
        throw bad(source,
                  std::to_string(per_slice.size()) + " centres given for " + std::to_string(n) + " slices");
      return per_slice;
    case Kind::Fit: {
      std::vector<double> out(n);
      for (std::size_t i = 0; i < n; ++i) out[i] = line.at(double(rows.begin) + double(i));
      return out;
    }
    case Kind::Auto:
      break;
  }
  throw bad(source, "an automatic centre must be searched for, not resolved");
}

void check_centers(const std::vector<double>& centers, std::int64_t columns, parallel::RowRange rows,
                   const std::string& file, const std::string& dataset) {
  for (std::size_t i = 0; i < centers.size(); ++i) {
    const double c = centers[i];
    if (std::isfinite(c) && c >= 0 && c <= double(columns - 1)) continue;
    std::ostringstream message;
    message << "rotation centre " << c << " for row " << rows.begin + std::int64_t(i)
            << " is outside the detector's columns 0.." << columns - 1;
    throw Error("tomo.center.out_of_range", tomo_asl::Center, message.str(),
                {{"file", file}, {"dataset", dataset}});
  }
}

}  // namespace beamflow::jobs
