#include "jobs/models/model.hpp"

#include <cmath>
#include <sstream>
#include <system_error>

#include "core/hash.hpp"
#include "platform/checksum.hpp"
#include "jobs/models/errors.hpp"
#include "jobs/models/metadata.hpp"
#include "jobs/models/semver.hpp"

namespace beamflow::models {

ModelRef ModelRef::parse(const std::string& text) {
  ModelRef ref;
  const auto at = text.find('@');
  ref.name = text.substr(0, at);
  if (!valid_model_name(ref.name))
    throw model_error("model.name.invalid", model_asl::NotFound,
                      "'" + text + "' is not NAME or NAME@VERSION (names match [A-Za-z0-9][A-Za-z0-9_.-]*)",
                      {{"model", text}});
  if (at != std::string::npos) {
    ref.version = text.substr(at + 1);
    if (!SemVer::parse(*ref.version))
      throw model_error(
          "model.name.invalid", model_asl::NotFound,
          "'" + *ref.version + "' in '" + text + "' is not a semantic version (MAJOR.MINOR.PATCH)",
          {{"model", text}});
  }
  return ref;
}

void verify_files(const std::filesystem::path& dir, const Json& metadata) {
  const auto files = "/beamflow/files"_json_pointer;
  if (!metadata.contains(files)) return;
  for (const auto& [name, hash] : metadata[files].items()) {
    const auto file = dir / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      throw model_error("model.file.missing", model_asl::Corrupt, "a file of the model is missing",
                        {{"file", file.string()}});
    const std::string actual = platform::sha256_file(file);
    if (actual != hash.get<std::string>())
      throw model_error(
          "model.file.checksum", model_asl::Corrupt,
          "file does not match the sha256 in the model's metadata (corrupted or truncated): expected " +
              hash.get<std::string>() + ", found " + actual,
          {{"file", file.string()}});
  }
}

std::shared_ptr<const Model> Model::load(const std::filesystem::path& dir, Json metadata) {
  verify_files(dir, metadata);
  std::shared_ptr<Model> m(new Model());
  m->m_dir = dir;
  m->m_name = metadata["/dlhub/name"_json_pointer].get<std::string>();
  m->m_version = metadata["/datacite/version"_json_pointer].get<std::string>();
  const Json& b = metadata["beamflow"];
  const ModelFormat& format = model_format(b["format"].get<std::string>());
  m->m_runtime = format.load(dir / b["model_file"].get<std::string>());
  if (b.contains("preprocessing")) {
    const Json& spec = b["preprocessing"];
    m->m_preprocessor = preprocessor_kind(spec["name"].get<std::string>(), "/beamflow/preprocessing/name")
                            .load(spec, dir, "/beamflow/preprocessing");
  }
  m->m_labels = m->m_runtime->signature().output.labels;
  const auto labels = "/servable/methods/run/output/labels"_json_pointer;
  if (metadata.contains(labels)) m->m_labels = metadata[labels].get<std::vector<std::string>>();
  m->m_metadata = std::move(metadata);
  return m;
}

Tensor Model::prepare(const Json& inputs, const std::string& where) const {
  const TensorSpec& spec = m_runtime->signature().input;
  Tensor t = m_preprocessor ? cast(m_preprocessor->apply(inputs, where), spec.dtype)
                            : tensor_from_json(inputs, spec.dtype, where);
  check_tensor(spec, t, "the input");
  return t;
}

Tensor Model::prepare(const Tensor& batch) const {
  const TensorSpec& spec = m_runtime->signature().input;
  Tensor t = cast(m_preprocessor ? m_preprocessor->apply(batch) : batch, spec.dtype);
  check_tensor(spec, t, "the input");
  return t;
}

namespace {
std::string exact(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}
}  // namespace

void run_validation_vectors(const Model& model) {
  const auto pointer = "/beamflow/validation"_json_pointer;
  if (!model.metadata().contains(pointer)) return;
  const Json& vectors = model.metadata()[pointer];
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const std::string where = "/beamflow/validation/" + std::to_string(i);
    const Json& v = vectors[i];
    auto failed = [&](const std::string& why) {
      return model_error("model.validation.failed", model_asl::ValidationFailed,
                         "validation vector " + std::to_string(i) + ": " + why,
                         {{"field", where}, {"model", model.ref()}});
    };
    Tensor out;
    try {
      out = model.predict(v["input"], where + "/input");
    } catch (const Error& e) {
      throw failed("the model refused the input: " + e.message());
    }
    Tensor expected;
    try {
      expected = tensor_from_json(v["expected"], DType::Float64, where + "/expected");
    } catch (const Error& e) {
      throw failed(e.message());
    }
    if (expected.shape() != out.shape())
      throw failed("the output has shape " + shape_string(out.shape()) + ", the expected values " +
                   shape_string(expected.shape()));
    const double tolerance = v.value("tolerance", 0.0);
    const Tensor got_f64 = cast(out, DType::Float64);
    const auto got = got_f64.data<double>();
    const auto want = expected.data<double>();
    const auto row = static_cast<std::size_t>(std::max<std::int64_t>(1, out.row_size()));
    for (std::size_t k = 0; k < got.size(); ++k) {
      const bool ok = tolerance == 0 ? got[k] == want[k] : std::fabs(got[k] - want[k]) <= tolerance;
      if (!ok)
        throw failed("output row " + std::to_string(k / row) + ", column " + std::to_string(k % row) +
                     " is " + exact(got[k]) + ", expected " + exact(want[k]) + " (tolerance " +
                     exact(tolerance) + ")");
    }
  }
}

}  // namespace beamflow::models
