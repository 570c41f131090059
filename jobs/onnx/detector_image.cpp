#include "jobs/onnx/detector_image.hpp"

#include <cmath>

#include "jobs/models/errors.hpp"
#include "kernels/ml/detector_image.hpp"
#include "kernels/common/error.hpp"

namespace beamflow::onnx {

namespace {

[[noreturn]] void spec_error(const std::string& pointer, const std::string& what) {
  throw models::model_error("model.metadata.invalid", models::model_asl::InvalidMetadata, pointer + ": " + what,
                            {{"field", pointer}});
}

class DetectorImage final : public models::Preprocessor {
 public:
  DetectorImage(float log_scale, std::int64_t height, std::int64_t width)
      : m_scale(log_scale), m_height(height), m_width(width) {
    models::ensure_kokkos();
  }

  Json input_spec() const override {
    return {{"type", "ndarray"}, {"dtype", "float32"}, {"shape", {nullptr, nullptr, nullptr}},
            {"description", "detector frames [n][height][width] in photon counts (any size; resized)"}};
  }
  Json describe() const override {
    return {{"name", kDetectorImagePreprocessing}, {"log_scale", m_scale}, {"size", {m_height, m_width}}};
  }

  models::Tensor apply(const Json& inputs, const std::string& where) const override {
    return apply(models::tensor_from_json(inputs, models::DType::Float32, where));
  }

  models::Tensor apply(const models::Tensor& frames) const override {
    const models::Shape& s = frames.shape();
    const bool stacked = s.size() == 3, channel = s.size() == 4 && s[1] == 1;
    if (!stacked && !channel)
      throw models::input_error("model.input.shape", "detector frames must be [n][height][width] or "
                                                     "[n][1][height][width], got " + models::shape_string(s));
    const std::int64_t n = s[0], h = s[s.size() - 2], w = s[s.size() - 1];
    const models::Tensor f = models::cast(frames, models::DType::Float32);
    const auto host = f.data<float>();
    using Unmanaged = Kokkos::View<const float***, Kokkos::LayoutRight, Kokkos::HostSpace,
                                   Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    auto device = Kokkos::create_mirror_view_and_copy(kernels::MemSpace(), Unmanaged(host.data(), n, h, w));
    kernels::nn::Tensor out = kernels::nn::Tensor::allocate("beamflow::detector::out", {n, 1, m_height, m_width});
    try {
      kernels::log_scale_resize(device, m_scale, out);
    } catch (const kernels::Error& e) {
      throw models::input_error("model.input.shape", e.what());
    }
    models::Tensor result(models::DType::Float32, out.shape);
    auto r = result.data<float>();
    Kokkos::deep_copy(Kokkos::View<float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(r.data(), r.size()),
                      out.data);
    return result;
  }

 private:
  float m_scale;
  std::int64_t m_height, m_width;
};

}  // namespace

std::unique_ptr<models::Preprocessor> load_detector_image_preprocessor(const Json& spec, const std::filesystem::path&,
                                                                       const std::string& pointer) {
  const auto scale = spec.find("log_scale");
  if (scale == spec.end() || !scale->is_number() || !(scale->get<double>() > 0) || !std::isfinite(scale->get<double>()))
    spec_error(pointer + "/log_scale", "must be a positive number");
  const auto size = spec.find("size");
  if (size == spec.end() || !size->is_array() || size->size() != 2 || !(*size)[0].is_number_integer() ||
      !(*size)[1].is_number_integer() || (*size)[0].get<std::int64_t>() < 1 || (*size)[1].get<std::int64_t>() < 1 ||
      (*size)[0].get<std::int64_t>() > 16384 || (*size)[1].get<std::int64_t>() > 16384)
    spec_error(pointer + "/size", "must be [height, width], integers from 1 to 16384");
  return std::make_unique<DetectorImage>(scale->get<float>(), (*size)[0].get<std::int64_t>(),
                                         (*size)[1].get<std::int64_t>());
}

}  // namespace beamflow::onnx
