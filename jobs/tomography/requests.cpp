#include "jobs/tomography/requests.hpp"

#include "jobs/tomography/errors.hpp"

namespace beamflow::jobs {

namespace {

namespace fs = std::filesystem;

Error bad_field(const std::string& name, const std::string& why) { return request_error(name, why); }

fs::path resolve(const fs::path& base, const std::string& text) {
  const fs::path p(text);
  return p.is_absolute() || base.empty() ? p : base / p;
}

// Converts a checked JSON value to the member's type.
template <class T>
void assign(T& member, const Json& value, const fs::path& base) {
  if constexpr (std::is_same_v<T, fs::path>)
    member = resolve(base, value.get<std::string>());
  else if constexpr (std::is_same_v<T, std::optional<fs::path>>)
    member = resolve(base, value.get<std::string>());
  else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
    member = value.get<std::vector<std::int64_t>>();
  else
    member = value.get<T>();
}

template <class T>
Json to_json_value(const T& member) {
  if constexpr (std::is_same_v<T, fs::path>)
    return member.empty() ? Json(nullptr) : Json(member.string());
  else if constexpr (std::is_same_v<T, std::optional<fs::path>>)
    return member ? Json(member->string()) : Json(nullptr);
  else
    return Json(member);
}

// A field stored in the member `access(options)` returns.
template <class O, class Access>
Field<O> member_field(std::string name, FieldType type, std::string help, Access access,
                      bool required = false) {
  Field<O> f;
  static_cast<actions::Field&>(f) = actions::Field::of(type, std::move(name), std::move(help));
  f.is_required = required;
  f.set = [access](O& o, const Json& v, const fs::path& base) { assign(access(o), v, base); };
  f.get = [access](const O& o) { return to_json_value(access(const_cast<O&>(o))); };
  return f;
}

template <class O>
Field<O> custom(std::string name, FieldType type, std::string help, std::function<void(O&, const Json&)> set,
                std::function<Json(const O&)> get) {
  Field<O> f;
  static_cast<actions::Field&>(f) = actions::Field::of(type, std::move(name), std::move(help));
  f.set = [set](O& o, const Json& v, const fs::path&) { set(o, v); };
  f.get = std::move(get);
  return f;
}

// Fields every job reading a Data Exchange file shares (layout and
// preprocessing), for an options struct with `layout` and `preprocess`.
template <class O>
void add_input_fields(std::vector<Field<O>>& f) {
  f.push_back(member_field<O>(
      "data_dataset", FieldType::String, "projections dataset",
      [](O & o) -> auto& { return o.layout.data; }));
  f.push_back(member_field<O>(
      "flat_dataset", FieldType::String, "flat-field dataset (may be absent)",
      [](O & o) -> auto& { return o.layout.flat; }));
  f.push_back(member_field<O>(
      "dark_dataset", FieldType::String, "dark-field dataset (may be absent)",
      [](O & o) -> auto& { return o.layout.dark; }));
  f.push_back(member_field<O>(
      "theta_dataset", FieldType::String,
      "angles dataset (degrees unless units=radians; absent: [0,180) evenly)",
      [](O & o) -> auto& { return o.layout.theta; }));
  f.push_back(custom<O>(
      "flat_reduce", FieldType::String, "how flats and darks are combined: mean or median",
      [](O& o, const Json& v) {
        const std::string s = v.get<std::string>();
        if (s != "mean" && s != "median") throw bad_field("flat_reduce", "wants mean or median");
        o.preprocess.field_reduce = s == "median" ? kernels::FieldReduce::Median : kernels::FieldReduce::Mean;
      },
      [](const O& o) {
        return Json(o.preprocess.field_reduce == kernels::FieldReduce::Median ? "median" : "mean");
      }));
  f.push_back(member_field<O>(
      "min_transmission", FieldType::Number, "transmission clamp before the logarithm",
      [](O & o) -> auto& { return o.preprocess.min_transmission; }));
  f.push_back(member_field<O>(
      "zinger_threshold", FieldType::Number, "remove zingers brighter than the local median by this (0: off)",
      [](O & o) -> auto& { return o.preprocess.zinger_threshold; }));
  f.push_back(member_field<O>(
      "zinger_size", FieldType::Integer, "zinger median window (pixels)",
      [](O & o) -> auto& { return o.preprocess.zinger_size; }));
  f.push_back(custom<O>(
      "stripe_size", FieldType::Integer, "ring removal: median window across columns, odd 3..127 (0: off)",
      [](O& o, const Json& v) {
        const auto size = v.get<std::int64_t>();
        if (size == 0) return o.preprocess.stripes.reset();
        o.preprocess.stripes = kernels::StripeParams{static_cast<int>(size)};
      },
      [](const O& o) { return Json(o.preprocess.stripes ? o.preprocess.stripes->size : 0); }));
  // Paganin: on when delta_over_beta > 0; the kernel checks the geometry.
  auto paganin = [](O& o) -> kernels::PaganinParams& {
    if (!o.preprocess.paganin) o.preprocess.paganin.emplace();
    return *o.preprocess.paganin;
  };
  auto paganin_field = [&](const char* name, const char* help, double kernels::PaganinParams::*member) {
    f.push_back(custom<O>(
        name, FieldType::Number, help,
        [paganin, member](O& o, const Json& v) { paganin(o).*member = v.get<double>(); },
        [member](const O& o) { return Json(o.preprocess.paganin ? (*o.preprocess.paganin).*member : 0.0); }));
  };
  paganin_field("paganin_delta_over_beta", "phase retrieval: delta/beta (0: off)",
                &kernels::PaganinParams::delta_over_beta);
  paganin_field("paganin_pixel_size", "phase retrieval: pixel size, metres",
                &kernels::PaganinParams::pixel_size);
  paganin_field("paganin_distance", "phase retrieval: sample-detector distance, metres",
                &kernels::PaganinParams::distance);
  paganin_field("paganin_energy", "phase retrieval: energy, keV", &kernels::PaganinParams::energy);
}

// The centre search's method and radius (for recon, prefixed "center_").
template <class O>
void add_search_fields(std::vector<Field<O>>& f, CenterSearch O::*search, const std::string& prefix) {
  f.push_back(custom<O>(
      prefix + "method", FieldType::String, "vo (sinograms) or pc (0/180 degree projections)",
      [search](O& o, const Json& v) { (o.*search).method = center_method_from_name(v.get<std::string>()); },
      [search](const O& o) { return Json(center_method_name((o.*search).method)); }));
  f.push_back(member_field<O>(
      prefix + "search_radius", FieldType::Number,
      "vo: try centres within (width-1)/2 +- this many columns", [search](O & o) -> auto& {
        return (o.*search).vo.search_radius;
      }));
}

template <class O>
Field<O> rows_field(std::string help) {
  return custom<O>(
      "rows", FieldType::String, std::move(help),
      [](O& o, const Json& v) { o.rows = RowSpec::parse(v.get<std::string>()); },
      [](const O& o) { return o.rows ? Json(o.rows->to_string()) : Json(nullptr); });
}

}  // namespace

Error request_error(const std::string& field, const std::string& why) {
  if (field.empty()) return usage_error("request", why);
  return usage_error("request", "option " + field + ": " + why, {{"field", field}});
}

Json json_from_text(FieldType type, const std::string& name, const std::string& text) {
  if (auto value = actions::value_from_text(type, text)) return *value;
  throw bad_field(name, "'" + text + "' is not a valid " + actions::type_name(type));
}

const std::vector<Field<ReconOptions>>& recon_fields() {
  using O = ReconOptions;
  static const std::vector<Field<O>> fields = [] {
    std::vector<Field<O>> f;
    f.push_back(member_field<O>(
        "input", FieldType::Path, "Data Exchange HDF5 file", [](O & o) -> auto& { return o.input; }, true));
    f.push_back(member_field<O>(
        "output", FieldType::Path, "reconstructed volume (HDF5); resumed if it exists",
        [](O & o) -> auto& { return o.output; }, true));
    f.push_back(member_field<O>(
        "algorithm", FieldType::String, "gridrec or fbp", [](O & o) -> auto& { return o.algorithm; }));
    f.push_back(member_field<O>(
        "filter", FieldType::String, "ramp, shepp, cosine, hann, hamming, parzen, butterworth or none",
        [](O & o) -> auto& { return o.filter; }));
    f.push_back(member_field<O>(
        "pad", FieldType::Integer, "zero-padding factor of the filter (1..8)",
        [](O & o) -> auto& { return o.pad; }));
    f.push_back(custom<O>(
        "center", FieldType::String,
        "auto, auto:K (K rows and a line), VALUE, C0,C1,... (per slice), fit:ROW=C,ROW=C, or a file",
        [](O& o, const Json& v) { o.center = CenterSpec::parse(v.get<std::string>()); },
        [](const O& o) { return Json(o.center.source.empty() ? "auto" : o.center.source); }));
    add_search_fields<O>(f, &O::center_search, "center_");
    f.push_back(rows_field<O>("detector rows to reconstruct, A:B (default all)"));
    f.push_back(member_field<O>(
        "chunk_rows", FieldType::Integer, "rows per chunk (0: from the memory budget)",
        [](O & o) -> auto& { return o.chunk_rows; }));
    f.push_back(member_field<O>(
        "memory_budget_mib", FieldType::Integer, "memory per rank for one chunk, MiB",
        [](O & o) -> auto& { return o.memory_budget_mib; }));
    f.push_back(member_field<O>(
        "pipeline_depth", FieldType::Integer,
        "1: read the next chunk and write the last one while the kernel runs; 0: one step at a time",
        [](O & o) -> auto& { return o.pipeline_depth; }));
    f.push_back(member_field<O>(
        "overwrite", FieldType::Boolean, "replace an output made with other settings",
        [](O & o) -> auto& { return o.overwrite; }));
    f.push_back(custom<O>(
        "input_digest", FieldType::String,
        "how the output identifies its input file: xxh128 (as xxhsum -H2 prints it) or sha256 (as sha256sum "
        "does); unset: xxh128, or the kind an output being resumed records",
        [](O& o, const Json& v) {
          o.input_digest = platform::digest::parse_algorithm(v.get<std::string>());
          if (!o.input_digest) throw bad_field("input_digest", "wants xxh128 or sha256");
        },
        [](const O& o) { return o.input_digest ? Json(platform::digest::to_string(*o.input_digest)) : Json(nullptr); }));
    f.push_back(member_field<O>(
        "backend", FieldType::String, "Kokkos backend (default: the build's)",
        [](O & o) -> auto& { return o.backend; }));
    f.push_back(member_field<O>(
        "preview", FieldType::Path, "write PNG previews here", [](O & o) -> auto& { return o.preview; }));
    f.push_back(member_field<O>(
        "preview_slices", FieldType::IntegerList, "slices to preview (default: the middle)",
        [](O & o) -> auto& { return o.preview_slices; }));
    add_input_fields(f);
    return f;
  }();
  return fields;
}

const std::vector<Field<FindCenterOptions>>& find_center_fields() {
  using O = FindCenterOptions;
  static const std::vector<Field<O>> fields = [] {
    std::vector<Field<O>> f;
    f.push_back(member_field<O>(
        "input", FieldType::Path, "Data Exchange HDF5 file", [](O & o) -> auto& { return o.input; }, true));
    add_search_fields<O>(f, &O::search, "");
    f.push_back(rows_field<O>("detector rows to search, A:B (default all)"));
    f.push_back(custom<O>(
        "samples", FieldType::Integer, "vo: rows searched, spread over the range (then a line fit)",
        [](O& o, const Json& v) {
          const auto k = v.get<std::int64_t>();
          if (k < 1 || k > 100000) throw bad_field("samples", "must be 1..100000");
          o.search.samples = static_cast<int>(k);
        },
        [](const O& o) { return Json(o.search.samples); }));
    add_input_fields(f);
    return f;
  }();
  return fields;
}

const std::vector<Field<PhantomOptions>>& phantom_fields() {
  using O = PhantomOptions;
  static const std::vector<Field<O>> fields = [] {
    std::vector<Field<O>> f;
    f.push_back(member_field<O>(
        "output", FieldType::Path, "Data Exchange file to write (truth beside it)",
        [](O & o) -> auto& { return o.output; }, true));
    f.push_back(member_field<O>(
        "size", FieldType::Integer, "detector columns = slice width", [](O & o) -> auto& { return o.size; }));
    f.push_back(member_field<O>(
        "angles", FieldType::Integer, "projections, evenly over [0, arc) degrees",
        [](O & o) -> auto& { return o.angles; }));
    f.push_back(member_field<O>(
        "arc", FieldType::Number, "scan range, degrees (180..360)", [](O & o) -> auto& { return o.arc; }));
    f.push_back(member_field<O>(
        "rows", FieldType::Integer, "detector rows = slices", [](O & o) -> auto& { return o.rows; }));
    f.push_back(member_field<O>(
        "center_offset", FieldType::Number, "rotation axis offset from the middle, columns",
        [](O & o) -> auto& { return o.center_offset; }));
    f.push_back(member_field<O>(
        "photons", FieldType::Number, "open-beam counts per pixel (0: noise-free floats)",
        [](O & o) -> auto& { return o.photons; }));
    f.push_back(member_field<O>(
        "flats", FieldType::Integer, "flat-field frames", [](O & o) -> auto& { return o.flats; }));
    f.push_back(member_field<O>(
        "darks", FieldType::Integer, "dark-field frames", [](O & o) -> auto& { return o.darks; }));
    f.push_back(member_field<O>(
        "dark_level", FieldType::Number, "dark current, counts",
        [](O & o) -> auto& { return o.dark_level; }));
    f.push_back(member_field<O>(
        "peak_attenuation", FieldType::Number, "largest line integral through the object",
        [](O & o) -> auto& { return o.peak_attenuation; }));
    f.push_back(member_field<O>(
        "seed", FieldType::Integer, "noise seed", [](O & o) -> auto& { return o.seed; }));
    f.push_back(member_field<O>(
        "overwrite", FieldType::Boolean, "replace existing files",
        [](O & o) -> auto& { return o.overwrite; }));
    return f;
  }();
  return fields;
}

const std::vector<Field<PreviewOptions>>& preview_fields() {
  using O = PreviewOptions;
  static const std::vector<Field<O>> fields = [] {
    std::vector<Field<O>> f;
    f.push_back(member_field<O>(
        "input", FieldType::Path, "reconstructed volume (HDF5)", [](O & o) -> auto& { return o.volume; },
        true));
    f.push_back(member_field<O>(
        "output", FieldType::Path, "PNG file (several slices: OUTPUT_sNNNN.png)",
        [](O & o) -> auto& { return o.output; }, true));
    f.push_back(member_field<O>(
        "slices", FieldType::IntegerList, "slices to draw (default: the middle)",
        [](O & o) -> auto& { return o.slices; }));
    f.push_back(member_field<O>(
        "dataset", FieldType::String, "volume dataset", [](O & o) -> auto& { return o.dataset; }));
    f.push_back(member_field<O>(
        "low_percentile", FieldType::Number, "black point, percentile in the field of view",
        [](O & o) -> auto& { return o.low_percentile; }));
    f.push_back(member_field<O>(
        "high_percentile", FieldType::Number, "white point, percentile in the field of view",
        [](O & o) -> auto& { return o.high_percentile; }));
    f.push_back(member_field<O>(
        "overwrite", FieldType::Boolean, "replace existing files",
        [](O & o) -> auto& { return o.overwrite; }));
    return f;
  }();
  return fields;
}

}  // namespace beamflow::jobs
