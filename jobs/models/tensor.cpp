#include "jobs/models/tensor.hpp"

#include <algorithm>
#include <stdexcept>

#include "jobs/models/errors.hpp"

namespace beamflow::models {

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  if (name == "float32") return DType::Float32;
  if (name == "float64") return DType::Float64;
  return std::nullopt;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
std::size_t product(const Shape& shape, std::size_t from = 0) {
  std::size_t n = 1;
  for (std::size_t i = from; i < shape.size(); ++i) n *= static_cast<std::size_t>(shape[i]);
  return n;
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : m_dtype(dtype), m_shape(std::move(shape)) {
  for (auto e : m_shape)
    if (e < 0) throw std::invalid_argument("negative tensor extent");
  const std::size_t n = product(m_shape);
  if (dtype == DType::Float32)
    m_data = std::vector<float>(n);
  else
    m_data = std::vector<double>(n);
}

std::int64_t Tensor::size() const noexcept { return static_cast<std::int64_t>(product(m_shape)); }

std::int64_t Tensor::row_size() const noexcept { return static_cast<std::int64_t>(product(m_shape, 1)); }

template <class T>
std::span<T> Tensor::data() {
  auto* v = std::get_if<std::vector<T>>(&m_data);
  if (!v) throw std::logic_error(std::string("tensor holds ") + dtype_name(m_dtype));
  return {v->data(), v->size()};
}

template <class T>
std::span<const T> Tensor::data() const {
  auto* v = std::get_if<std::vector<T>>(&m_data);
  if (!v) throw std::logic_error(std::string("tensor holds ") + dtype_name(m_dtype));
  return {v->data(), v->size()};
}

template std::span<float> Tensor::data<float>();
template std::span<double> Tensor::data<double>();
template std::span<const float> Tensor::data<float>() const;
template std::span<const double> Tensor::data<double>() const;

Tensor Tensor::rows(std::int64_t first, std::int64_t count) const {
  if (m_shape.empty() || first < 0 || count < 0 || first + count > m_shape[0])
    throw std::out_of_range("tensor rows out of range");
  Shape shape = m_shape;
  shape[0] = count;
  Tensor out(m_dtype, shape);
  const std::size_t stride = static_cast<std::size_t>(row_size());
  std::visit(
      [&](const auto& src) {
        using T = typename std::decay_t<decltype(src)>::value_type;
        auto dst = out.data<T>();
        std::copy_n(src.begin() + static_cast<std::ptrdiff_t>(first * stride), count * stride, dst.begin());
      },
      m_data);
  return out;
}

Tensor concat_rows(const std::vector<const Tensor*>& parts) {
  if (parts.empty()) throw std::invalid_argument("concat_rows of nothing");
  Shape shape = parts.front()->shape();
  shape[0] = 0;
  for (const Tensor* p : parts) {
    Shape row(p->shape().begin() + 1, p->shape().end());
    if (p->dtype() != parts.front()->dtype() || row != Shape(shape.begin() + 1, shape.end()))
      throw input_error("model.input.shape", "batched inputs disagree: " + shape_string(p->shape()) + " " +
                                                 dtype_name(p->dtype()) + " after " +
                                                 shape_string(parts.front()->shape()) + " " +
                                                 dtype_name(parts.front()->dtype()));
    shape[0] += p->shape()[0];
  }
  Tensor out(parts.front()->dtype(), shape);
  auto copy_all = [&](auto zero) {
    using T = decltype(zero);
    auto at = out.data<T>().begin();
    for (const Tensor* p : parts) at = std::copy(p->data<T>().begin(), p->data<T>().end(), at);
  };
  if (out.dtype() == DType::Float32)
    copy_all(0.0f);
  else
    copy_all(0.0);
  return out;
}

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out(dtype, t.shape());
  if (dtype == DType::Float32) {
    auto src = t.data<double>();
    std::transform(src.begin(), src.end(), out.data<float>().begin(),
                   [](double v) { return static_cast<float>(v); });
  } else {
    auto src = t.data<float>();
    std::copy(src.begin(), src.end(), out.data<double>().begin());
  }
  return out;
}

namespace {

constexpr std::size_t kMaxRank = 8;

const char* json_type(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::string:
      return "string";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    default:
      return "number";
  }
}

// The shape along the first element at every depth.
Shape infer_shape(const Json& nested, const std::string& where) {
  Shape shape;
  const Json* j = &nested;
  while (j->is_array()) {
    if (shape.size() == kMaxRank)
      throw input_error("model.input.shape",
                        where + ": nested deeper than " + std::to_string(kMaxRank) + " levels");
    shape.push_back(static_cast<std::int64_t>(j->size()));
    if (j->empty()) break;
    j = &(*j)[0];
  }
  if (shape.empty())
    throw input_error("model.input.shape",
                      where + ": expected a nested array (batch first), got " + json_type(nested));
  if (product(shape) == 0)
    throw input_error("model.input.shape",
                      where + ": the batch has no elements (shape " + shape_string(shape) + ")");
  return shape;
}

template <class T>
void fill(const Json& j, const Shape& shape, std::size_t depth, const std::string& pointer, T*& out) {
  if (depth == shape.size()) {
    if (!j.is_number())
      throw input_error("model.input.dtype",
                        pointer + ": expected a number, got " + std::string(json_type(j)));
    *out++ = static_cast<T>(j.get<double>());
    return;
  }
  if (!j.is_array() || static_cast<std::int64_t>(j.size()) != shape[depth])
    throw input_error(
        "model.input.shape",
        pointer + ": expected an array of " + std::to_string(shape[depth]) + " elements, got " +
            (j.is_array() ? std::to_string(j.size()) + " elements" : std::string(json_type(j))) +
            " (the batch is ragged)");
  for (std::size_t i = 0; i < j.size(); ++i)
    fill(j[i], shape, depth + 1, pointer + "/" + std::to_string(i), out);
}

template <class T>
Json nest(std::span<const T> data, const Shape& shape, std::size_t depth, std::size_t& at) {
  Json a = Json::array();
  for (std::int64_t i = 0; i < shape[depth]; ++i) {
    if (depth + 1 == shape.size())
      a.push_back(static_cast<double>(data[at++]));
    else
      a.push_back(nest(data, shape, depth + 1, at));
  }
  return a;
}

}  // namespace

Tensor tensor_from_json(const Json& nested, DType dtype, const std::string& where) {
  const Shape shape = infer_shape(nested, where);
  Tensor t(dtype, shape);
  if (dtype == DType::Float32) {
    float* out = t.data<float>().data();
    fill(nested, shape, 0, where, out);
  } else {
    double* out = t.data<double>().data();
    fill(nested, shape, 0, where, out);
  }
  return t;
}

Json tensor_to_json(const Tensor& t) {
  std::size_t at = 0;
  if (t.rank() == 0) return Json::array();
  if (t.dtype() == DType::Float32) return nest(t.data<float>(), t.shape(), 0, at);
  return nest(t.data<double>(), t.shape(), 0, at);
}

Json TensorSpec::to_json() const {
  Json s = Json::array();
  for (const auto& e : shape) s.push_back(e ? Json(*e) : Json(nullptr));
  Json j = {{"type", "ndarray"}, {"dtype", dtype_name(dtype)}, {"shape", s}};
  if (!labels.empty()) j["labels"] = labels;
  if (!description.empty()) j["description"] = description;
  return j;
}

namespace {
[[noreturn]] void spec_error(const std::string& pointer, const std::string& what) {
  throw model_error("model.metadata.invalid", model_asl::InvalidMetadata, pointer + ": " + what,
                    {{"field", pointer}});
}
}  // namespace

TensorSpec TensorSpec::from_json(const Json& j, const std::string& pointer) {
  if (!j.is_object()) spec_error(pointer, "must be an object");
  if (j.value("type", "") != "ndarray") spec_error(pointer + "/type", "must be \"ndarray\"");
  TensorSpec spec;
  const Json dtype = j.value("dtype", Json("float32"));
  if (!dtype.is_string() || !parse_dtype(dtype.get<std::string>()))
    spec_error(pointer + "/dtype", "must be \"float32\" or \"float64\"");
  spec.dtype = *parse_dtype(dtype.get<std::string>());
  const auto it = j.find("shape");
  if (it == j.end() || !it->is_array() || it->empty() || it->size() > kMaxRank)
    spec_error(pointer + "/shape", "must be an array of 1 to 8 extents (integers >= 1 or null)");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& e = (*it)[i];
    if (e.is_null())
      spec.shape.emplace_back(std::nullopt);
    else if (e.is_number_integer() && e.get<std::int64_t>() >= 1)
      spec.shape.emplace_back(e.get<std::int64_t>());
    else
      spec_error(pointer + "/shape/" + std::to_string(i), "must be an integer >= 1 or null");
  }
  if (auto l = j.find("labels"); l != j.end()) {
    if (!l->is_array()) spec_error(pointer + "/labels", "must be an array of strings");
    for (std::size_t i = 0; i < l->size(); ++i) {
      if (!(*l)[i].is_string()) spec_error(pointer + "/labels/" + std::to_string(i), "must be a string");
      spec.labels.push_back((*l)[i].get<std::string>());
    }
  }
  if (auto d = j.find("description"); d != j.end() && d->is_string())
    spec.description = d->get<std::string>();
  return spec;
}

std::string TensorSpec::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] ? std::to_string(*shape[i]) : std::string("null"));
  return s + "]";
}

bool TensorSpec::accepts(const Shape& s) const {
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (shape[i] && *shape[i] != s[i]) return false;
  return true;
}

void check_tensor(const TensorSpec& spec, const Tensor& t, const std::string& what) {
  if (!spec.accepts(t.shape()))
    throw input_error("model.input.shape", what + " has shape " + models::shape_string(t.shape()) +
                                               ", the model takes " + spec.shape_string());
  if (t.dtype() != spec.dtype)
    throw input_error("model.input.dtype",
                      what + " is " + dtype_name(t.dtype()) + ", the model takes " + dtype_name(spec.dtype));
}

}  // namespace beamflow::models
