#include "jobs/onnx/graph.hpp"

#include <cstring>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "jobs/models/errors.hpp"

namespace beamflow::onnx {

using models::model_asl::Corrupt;
using models::model_asl::Unsupported;

namespace {

Error parse_error(const std::string& origin, const std::string& what) {
  return models::model_error("model.onnx.parse", Corrupt, origin + ": " + what, {{"file", origin}});
}

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw models::model_error("model.file.missing", models::model_asl::NotFound,
                              "cannot open " + file.string(), {{"file", file.string()}});
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string onnx_type_name(int type) {
  const std::string n = ::onnx::TensorProto_DataType_Name(static_cast<::onnx::TensorProto_DataType>(type));
  return n.empty() ? "type " + std::to_string(type) : n;
}

HostTensor convert_tensor(const ::onnx::TensorProto& t, const std::string& origin) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL)
    throw models::model_error("model.onnx.graph", Unsupported,
                              origin + ": " + what + " keeps its data in an external file; save the model with "
                                                     "its weights inside (onnx.save(..., save_as_external_data=False))",
                              {{"file", origin}});
  HostTensor h;
  h.shape.assign(t.dims().begin(), t.dims().end());
  for (std::int64_t d : h.shape)
    if (d < 0) throw parse_error(origin, what + " has a negative extent");
  const std::int64_t n = h.size();
  const auto read_raw = [&](auto& out) {
    using T = typename std::decay_t<decltype(out)>::value_type;
    if (static_cast<std::int64_t>(t.raw_data().size()) != n * static_cast<std::int64_t>(sizeof(T)))
      throw parse_error(origin, what + " holds " + std::to_string(t.raw_data().size()) + " bytes for " +
                                    std::to_string(n) + " elements");
    out.resize(static_cast<std::size_t>(n));
    std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());  // little-endian, as ONNX stores it
  };
  const auto check_count = [&](std::int64_t have) {
    if (have != n)
      throw parse_error(origin, what + " holds " + std::to_string(have) + " values for shape of " +
                                    std::to_string(n) + " elements");
  };
  switch (t.data_type()) {
    case ::onnx::TensorProto_DataType_FLOAT:
      h.type = ElemType::Float32;
      if (t.has_raw_data()) {
        read_raw(h.f);
      } else {
        check_count(t.float_data_size());
        h.f.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    case ::onnx::TensorProto_DataType_INT64:
      h.type = ElemType::Int64;
      if (t.has_raw_data()) {
        read_raw(h.i);
      } else {
        check_count(t.int64_data_size());
        h.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    default:
      throw models::model_error("model.onnx.dtype", Unsupported,
                                origin + ": " + what + " is " + onnx_type_name(t.data_type()) +
                                    "; beamflow runs float32 tensors (and int64 shapes)",
                                {{"file", origin}});
  }
  return h;
}

ValueInfo convert_value_info(const ::onnx::ValueInfoProto& v) {
  ValueInfo info;
  info.name = v.name();
  if (v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    info.type_name = onnx_type_name(tt.elem_type());
    if (tt.elem_type() == ::onnx::TensorProto_DataType_FLOAT) info.type = ElemType::Float32;
    if (tt.elem_type() == ::onnx::TensorProto_DataType_INT64) info.type = ElemType::Int64;
    for (const auto& d : tt.shape().dim())
      info.shape.push_back(d.has_dim_value() ? std::optional<std::int64_t>(d.dim_value()) : std::nullopt);
  } else {
    info.type_name = "non-tensor";
  }
  return info;
}

Attribute convert_attribute(const ::onnx::AttributeProto& a, const std::string& origin) {
  Attribute r;
  switch (a.type()) {
    case ::onnx::AttributeProto_AttributeType_INT: r.kind = Attribute::Kind::Int; r.i = a.i(); break;
    case ::onnx::AttributeProto_AttributeType_FLOAT: r.kind = Attribute::Kind::Float; r.f = a.f(); break;
    case ::onnx::AttributeProto_AttributeType_STRING: r.kind = Attribute::Kind::String; r.s = a.s(); break;
    case ::onnx::AttributeProto_AttributeType_INTS:
      r.kind = Attribute::Kind::Ints;
      r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case ::onnx::AttributeProto_AttributeType_FLOATS:
      r.kind = Attribute::Kind::Floats;
      r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case ::onnx::AttributeProto_AttributeType_STRINGS:
      r.kind = Attribute::Kind::Strings;
      r.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case ::onnx::AttributeProto_AttributeType_TENSOR:
      r.kind = Attribute::Kind::Tensor;
      r.t = convert_tensor(a.t(), origin);
      break;
    default: r.kind = Attribute::Kind::Other; break;  // graphs, sparse tensors: refused by the operator
  }
  return r;
}

// Kahn's algorithm over value names: a node is ready once every input is a
// graph input, an initializer or an earlier node's output. Keeps the file's
// order among ready nodes, so an already sorted graph is unchanged.
std::vector<Node> sorted(std::vector<Node> nodes, std::set<std::string> known, const std::string& origin) {
  for (const Node& n : nodes)
    for (const std::string& out : n.outputs)
      if (!out.empty() && !known.insert(out).second)
        throw models::model_error("model.onnx.graph", Corrupt,
                                  origin + ": value '" + out + "' is produced twice (node '" + n.name + "')",
                                  {{"file", origin}});
  std::set<std::string> available;
  for (const std::string& k : known) available.insert(k);
  for (const Node& n : nodes)
    for (const std::string& out : n.outputs) available.erase(out);
  std::vector<Node> order;
  std::deque<Node> pending(nodes.begin(), nodes.end());
  while (!pending.empty()) {
    bool progressed = false;
    for (std::size_t k = pending.size(); k-- > 0;) {
      Node n = std::move(pending.front());
      pending.pop_front();
      bool ready = true;
      for (const std::string& in : n.inputs) ready = ready && (in.empty() || available.count(in));
      if (!ready) {
        pending.push_back(std::move(n));
        continue;
      }
      for (const std::string& out : n.outputs) available.insert(out);
      order.push_back(std::move(n));
      progressed = true;
    }
    if (!progressed) {
      const Node& n = pending.front();
      std::string missing;
      for (const std::string& in : n.inputs)
        if (!in.empty() && !available.count(in)) missing = in;
      throw models::model_error("model.onnx.graph", Corrupt,
                                origin + ": node '" + n.name + "' (" + n.op_type + ") reads '" + missing +
                                    "', which no graph input, initializer or node provides (or a cycle)",
                                {{"file", origin}});
    }
  }
  return order;
}

Graph convert_model(const ::onnx::ModelProto& m, const std::string& origin) {
  Graph g;
  g.producer = m.producer_name() + (m.producer_version().empty() ? "" : " " + m.producer_version());
  for (const auto& o : m.opset_import()) {
    const std::string domain = o.domain() == "ai.onnx" ? "" : o.domain();
    g.domain_opsets[domain] = o.version();
    if (domain.empty()) g.opset = o.version();
  }
  if (m.opset_import_size() == 0) g.domain_opsets[""] = g.opset = 1;  // ONNX's rule for a missing import
  // A graph importing only other domains (ai.onnx.ml) has no default opset
  // (0); a default-domain node in it is refused below.
  if (g.domain_opsets.count("") && (g.opset < kMinOpset || g.opset > kMaxOpset))
    throw models::model_error("model.onnx.opset", Unsupported,
                              origin + ": default-domain opset " + std::to_string(g.opset) +
                                  " is outside the opsets beamflow implements (" + std::to_string(kMinOpset) +
                                  " to " + std::to_string(kMaxOpset) + ")",
                              {{"file", origin}});
  for (const auto& p : m.metadata_props()) g.metadata[p.key()] = p.value();

  const ::onnx::GraphProto& gp = m.graph();
  g.name = gp.name();
  std::set<std::string> known;
  for (const auto& t : gp.initializer()) {
    g.initializers[t.name()] = convert_tensor(t, origin);
    known.insert(t.name());
  }
  if (gp.sparse_initializer_size() > 0)
    throw models::model_error("model.onnx.graph", Unsupported, origin + ": sparse initializers are not supported",
                              {{"file", origin}});
  for (const auto& v : gp.input())
    if (!g.initializers.count(v.name())) {
      g.inputs.push_back(convert_value_info(v));
      known.insert(v.name());
    }
  for (const auto& v : gp.output()) g.outputs.push_back(convert_value_info(v));

  std::vector<Node> nodes;
  for (int k = 0; k < gp.node_size(); ++k) {
    const auto& np = gp.node(k);
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? np.op_type() + "#" + std::to_string(k) : np.name();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) n.attributes[a.name()] = convert_attribute(a, origin);
    nodes.push_back(std::move(n));
  }
  if (!g.domain_opsets.count(""))
    for (const Node& n : nodes)
      if (n.domain.empty())
        throw models::model_error("model.onnx.opset", Unsupported,
                                  origin + ": node '" + n.name + "' (" + n.op_type +
                                      ") is in the default domain, which the model does not import",
                                  {{"file", origin}, {"node", n.name}});
  g.nodes = sorted(std::move(nodes), known, origin);
  std::set<std::string> produced = known;
  for (const Node& n : g.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
  for (const ValueInfo& out : g.outputs)
    if (!produced.count(out.name))
      throw models::model_error("model.onnx.graph", Corrupt, origin + ": graph output '" + out.name + "' is never produced",
                                {{"file", origin}});
  return g;
}

}  // namespace

const char* elem_type_name(ElemType t) noexcept { return t == ElemType::Float32 ? "float32" : "int64"; }

std::int64_t HostTensor::size() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

Graph parse_graph(const std::string& bytes, const std::string& origin) {
  ::onnx::ModelProto m;
  if (!m.ParseFromString(bytes) || !m.has_graph())
    throw parse_error(origin, "not an ONNX model (the protobuf does not parse as a ModelProto with a graph: "
                              "corrupt, truncated or another format)");
  return convert_model(m, origin);
}

Graph load_graph(const std::filesystem::path& file) { return parse_graph(read_bytes(file), file.string()); }

HostTensor load_tensor_file(const std::filesystem::path& file) {
  ::onnx::TensorProto t;
  if (!t.ParseFromString(read_bytes(file))) throw parse_error(file.string(), "not a serialised TensorProto");
  return convert_tensor(t, file.string());
}

std::vector<std::string> list_operators(const std::filesystem::path& file) {
  ::onnx::ModelProto m;
  if (!m.ParseFromString(read_bytes(file)) || !m.has_graph()) throw parse_error(file.string(), "not an ONNX model");
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node())
    ops.push_back(n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type());
  return ops;
}

bool is_onnx_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  ::onnx::ModelProto m;
  std::ifstream in(file, std::ios::binary);
  return m.ParseFromIstream(&in) && m.has_graph() && m.ir_version() > 0;
}

}  // namespace beamflow::onnx
