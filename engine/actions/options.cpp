#include "actions/options.hpp"

#include <cmath>
#include <sstream>

namespace beamflow::actions {

std::optional<Json> value_from_text(FieldType type, const std::string& text) {
  try {
    std::size_t used = 0;
    switch (type) {
      case FieldType::Any:
      case FieldType::String:
      case FieldType::Path:
        return Json(text);
      case FieldType::Integer: {
        const long long v = std::stoll(text, &used);
        if (used == text.size()) return Json(v);
        break;
      }
      case FieldType::Number: {
        const double v = std::stod(text, &used);
        if (used == text.size()) return Json(v);
        break;
      }
      case FieldType::Boolean:
        if (text == "true" || text == "1") return Json(true);
        if (text == "false" || text == "0") return Json(false);
        break;
      case FieldType::IntegerList: {
        Json out = Json::array();
        std::stringstream in(text);
        for (std::string item; std::getline(in, item, ',');) {
          const long long v = std::stoll(item, &used);
          if (used != item.size()) return std::nullopt;
          out.push_back(v);
        }
        return out;
      }
      case FieldType::StringArray:
      case FieldType::StringMap:
        break;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<std::string> coerce(const Field& field, Json& v) {
  switch (field.type) {
    case FieldType::Any:
      return std::nullopt;
    case FieldType::String:
      if (v.is_string()) return std::nullopt;
      // A number where text is parsed ("center": 134.7, "rows": 5) means
      // the same as its spelling; flows compute such values.
      if (v.is_number()) {
        v = Json(v.dump());
        return std::nullopt;
      }
      break;
    case FieldType::Path:
      if (v.is_string()) return std::nullopt;
      break;
    case FieldType::Integer:
      if (v.is_number_integer()) return std::nullopt;
      if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
        v = Json(v.get<std::int64_t>());
        return std::nullopt;
      }
      break;
    case FieldType::Number:
      if (v.is_number()) return std::nullopt;
      break;
    case FieldType::Boolean:
      if (v.is_boolean()) return std::nullopt;
      break;
    case FieldType::IntegerList:
      if (v.is_string()) {
        auto list = value_from_text(field.type, v.get<std::string>());
        if (!list) return "'" + v.get<std::string>() + "' is not a valid " + type_name(field.type);
        v = std::move(*list);
        return std::nullopt;
      }
      if (v.is_array()) {
        for (const auto& e : v)
          if (!e.is_number_integer()) return std::string("wants a list of integers");
        return std::nullopt;
      }
      break;
    case FieldType::StringArray:
    case FieldType::StringMap:
      break;
  }
  return std::string("wants a ") + type_name(field.type) + ", not " + v.dump();
}

}  // namespace beamflow::actions
