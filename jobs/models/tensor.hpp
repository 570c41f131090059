#pragma once
// Tensors handed to and returned by models: a dtype, a batch-first shape and
// dense row-major host data; their JSON form (nested arrays) and the typed
// signatures models declare (DLHub's "ndarray" argument type with a dtype).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/json.hpp"

namespace beamflow::models {

enum class DType { Float32, Float64 };
const char* dtype_name(DType dtype) noexcept;  // "float32", "float64"
std::optional<DType> parse_dtype(std::string_view name);

using Shape = std::vector<std::int64_t>;
std::string shape_string(const Shape& shape);  // "[3, 145]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled.
  Tensor(DType dtype, Shape shape);

  DType dtype() const noexcept { return m_dtype; }
  const Shape& shape() const noexcept { return m_shape; }
  std::int64_t rank() const noexcept { return static_cast<std::int64_t>(m_shape.size()); }
  std::int64_t size() const noexcept;
  // Elements per batch row (the product of every extent but the first).
  std::int64_t row_size() const noexcept;

  // The data as T; throws std::logic_error when T is not the dtype.
  template <class T>
  std::span<T> data();
  template <class T>
  std::span<const T> data() const;

  // Rows [first, first + count) as a new tensor.
  Tensor rows(std::int64_t first, std::int64_t count) const;

 private:
  DType m_dtype = DType::Float64;
  Shape m_shape;
  std::variant<std::vector<float>, std::vector<double>> m_data;
};

// The batches stacked along the first axis (same dtype and row shape;
// throws model.input.shape otherwise).
Tensor concat_rows(const std::vector<const Tensor*>& parts);

// Converts values (float64 -> float32 rounds to nearest, as numpy's astype).
Tensor cast(const Tensor& t, DType dtype);

// A nested JSON array of numbers (batch first) as a tensor of `dtype`.
// Throws model.input.dtype (a non-number, naming its JSON pointer below
// `where`) or model.input.shape (ragged nesting, no elements, rank > 8).
Tensor tensor_from_json(const Json& nested, DType dtype, const std::string& where = "/inputs");
// Nested arrays; doubles print with round-trip precision.
Json tensor_to_json(const Tensor& t);

// What a model method takes or returns (DLHub argument type "ndarray").
struct TensorSpec {
  DType dtype = DType::Float32;
  // Extents, nullopt for any size (DLHub's null); the first is the batch.
  std::vector<std::optional<std::int64_t>> shape;
  std::vector<std::string> labels;  // classifier outputs: one per column
  std::string description;

  Json to_json() const;
  // From DLHub form; throws model.metadata.invalid naming `pointer`.
  static TensorSpec from_json(const Json& j, const std::string& pointer);
  // "[null, 145]"
  std::string shape_string() const;
  // True when `shape` fits (same rank, fixed extents equal).
  bool accepts(const Shape& shape) const;
};

// Throws model.input.shape unless `spec` accepts t's shape, model.input.dtype
// unless the dtypes agree. `what` names the tensor in the message.
void check_tensor(const TensorSpec& spec, const Tensor& t, const std::string& what);

}  // namespace beamflow::models
