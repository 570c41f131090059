#pragma once
// An ONNX model as plain C++ values, read with Debian's libonnx (protobuf).
// This is the only place that sees the protobuf classes: the operators
// (ops.hpp) and the runtime work on the types below.
//
// Load-time checks (each a beamflow::Error naming the file):
//   model.onnx.parse     not a ModelProto (corrupt or truncated file)
//   model.onnx.opset     a default-domain opset above kMaxOpset (operators
//                        from older opsets load; their legacy attributes
//                        are refused operator by operator)
//   model.onnx.graph     a node input nobody produces, a cycle, a name
//                        produced twice, external data
//   model.onnx.dtype     a tensor that is neither float32 nor int64
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace beamflow::onnx {

using Dims = std::vector<std::int64_t>;

// The opsets whose operator semantics ops.cpp implements (ONNX 1.12).
inline constexpr std::int64_t kMinOpset = 1;
inline constexpr std::int64_t kMaxOpset = 17;

enum class ElemType { Float32, Int64 };
const char* elem_type_name(ElemType t) noexcept;

// A constant or an input/output value held on the host: float32 data
// (weights, activations) or int64 data (shapes, axes).
struct HostTensor {
  ElemType type = ElemType::Float32;
  Dims shape;
  std::vector<float> f;
  std::vector<std::int64_t> i;

  std::int64_t size() const;
};

struct Attribute {
  enum class Kind { Int, Float, String, Tensor, Ints, Floats, Strings, Other };
  Kind kind = Kind::Other;
  std::int64_t i = 0;
  float f = 0;
  // Initializers on every member, so an aggregate naming the first few
  // (tests do) leaves no member without one (-Wmissing-field-initializers).
  std::string s{};
  std::vector<std::int64_t> ints{};
  std::vector<float> floats{};
  std::vector<std::string> strings{};
  std::optional<HostTensor> t{};
};

struct Node {
  std::string op_type, domain, name;  // name: the node's, else "<op_type>#<index>"
  std::vector<std::string> inputs;     // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;
};

// A graph input or output: element type and extents (nullopt where the
// model leaves an axis symbolic, e.g. the batch).
struct ValueInfo {
  std::string name;
  std::optional<ElemType> type;  // nullopt: a type we do not run
  std::string type_name;         // as ONNX names it ("FLOAT", "UINT8", ...)
  std::vector<std::optional<std::int64_t>> shape;
};

struct Graph {
  std::string name, producer;
  std::int64_t opset = 0;             // of the default domain; 0 when only other domains are imported
  std::map<std::string, std::int64_t> domain_opsets;  // every import ("" for the default domain)
  std::vector<ValueInfo> inputs;      // without those an initializer provides
  std::vector<ValueInfo> outputs;
  std::map<std::string, HostTensor> initializers;
  std::vector<Node> nodes;            // in an order where producers come first
  std::map<std::string, std::string> metadata;  // metadata_props
};

// Parses and checks a model file (see the ids above).
Graph load_graph(const std::filesystem::path& file);
// Same, from the bytes of a ModelProto; `origin` names it in errors.
Graph parse_graph(const std::string& bytes, const std::string& origin);

// A serialised TensorProto (the test_data_set_N/*.pb files of the ONNX
// backend tests). Throws model.onnx.parse or model.onnx.dtype.
HostTensor load_tensor_file(const std::filesystem::path& file);

// The operator types of a model's nodes ("domain.Op" outside the default
// domain), without load_graph's other checks. Throws model.onnx.parse.
std::vector<std::string> list_operators(const std::filesystem::path& file);

// True when the file's bytes parse as a ModelProto with a graph.
bool is_onnx_file(const std::filesystem::path& file);

}  // namespace beamflow::onnx
