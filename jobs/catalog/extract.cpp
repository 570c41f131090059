#include "jobs/catalog/extract.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace beamflow::catalog {
namespace stdfs = std::filesystem;
namespace {

// Owns one HDF5 identifier; closes it with H5Oclose/H5Fclose/... as given.
class H5Id {
 public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() {
    if (m_id >= 0) m_close(m_id);
  }
  hid_t get() const { return m_id; }
  explicit operator bool() const { return m_id >= 0; }

 private:
  hid_t m_id;
  herr_t (*m_close)(hid_t);
};

bool is_hdf5_name(const stdfs::path& p) {
  static const std::set<std::string> ext = {".h5", ".hdf5", ".hdf", ".nxs", ".cxi", ".he5"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return ext.count(e) > 0;
}

std::string type_name(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      return std::string(is_signed ? "int" : "uint") + std::to_string(H5Tget_size(type) * 8);
    }
    case H5T_FLOAT: return "float" + std::to_string(H5Tget_size(type) * 8);
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    default: return "other";
  }
}

Json clean(double v) { return std::isfinite(v) ? Json(v) : Json(); }

// A small attribute's value: a string, a number, or up to 16 numbers.
Json attribute_value(hid_t attr) {
  H5Id type(H5Aget_type(attr), H5Tclose);
  H5Id space(H5Aget_space(attr), H5Sclose);
  if (!type || !space) return {};
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const auto cls = H5Tget_class(type.get());
  if (cls == H5T_STRING && n == 1) {
    if (H5Tis_variable_str(type.get()) > 0) {
      char* s = nullptr;
      H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.get(), H5T_VARIABLE);
      if (H5Aread(attr, mem.get(), &s) < 0 || !s) return {};
      std::string out(s);
      H5free_memory(s);
      return out.size() <= 4096 ? Json(out) : Json();
    }
    const std::size_t size = H5Tget_size(type.get());
    if (size > 4096) return {};
    std::string buf(size, '\0');
    H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), size);
    if (H5Aread(attr, mem.get(), buf.data()) < 0) return {};
    buf.resize(std::strlen(buf.c_str()));
    return buf;
  }
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 1 && n <= 16) {
    std::vector<double> v(static_cast<std::size_t>(n));
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) return {};
    if (n == 1) return clean(v[0]);
    Json a = Json::array();
    for (double x : v) a.push_back(clean(x));
    return a;
  }
  return {};
}

herr_t collect_attribute(hid_t obj, const char* name, const H5A_info_t*, void* out) {
  H5Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr) return 0;
  Json v = attribute_value(attr.get());
  if (!v.is_null()) (*static_cast<Json*>(out))[name] = std::move(v);
  return 0;
}

struct VisitState {
  hid_t file;
  Json datasets = Json::array();
  Json attributes = Json::object();
};

herr_t visit(hid_t, const char* name, const H5O_info_t* info, void* data) {
  auto& st = *static_cast<VisitState*>(data);
  const std::string path = std::string(name) == "." ? "/" : "/" + std::string(name);
  H5Id obj(H5Oopen(st.file, name, H5P_DEFAULT), H5Oclose);
  if (!obj) return 0;
  Json attrs = Json::object();
  H5Aiterate2(obj.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, collect_attribute, &attrs);
  if (!attrs.empty()) st.attributes[path] = attrs;
  if (info->type == H5O_TYPE_DATASET && st.datasets.size() < 256) {
    H5Id type(H5Dget_type(obj.get()), H5Tclose);
    H5Id space(H5Dget_space(obj.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    st.datasets.push_back({{"path", path}, {"shape", dims}, {"dtype", type_name(type.get())}});
  }
  return 0;
}

// count, first, last and units of the rotation angles.
Json theta_summary(hid_t file) {
  if (H5Lexists(file, "/exchange", H5P_DEFAULT) <= 0 || H5Lexists(file, "/exchange/theta", H5P_DEFAULT) <= 0)
    return {};
  H5Id d(H5Dopen2(file, "/exchange/theta", H5P_DEFAULT), H5Dclose);
  if (!d) return {};
  H5Id space(H5Dget_space(d.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n <= 0 || n > (1 << 24)) return {};
  std::vector<double> v(static_cast<std::size_t>(n));
  if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) return {};
  Json t = {{"count", n}, {"first", clean(v.front())}, {"last", clean(v.back())}};
  if (H5Aexists(d.get(), "units") > 0) {
    H5Id a(H5Aopen(d.get(), "units", H5P_DEFAULT), H5Aclose);
    Json u = attribute_value(a.get());
    if (u.is_string()) t["units"] = u;
  }
  return t;
}

Json extract_file(const stdfs::path& file, const std::string& rel, std::set<std::string>& techniques) {
  Json out = {{"path", rel}};
  H5Id f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f) {
    out["error"] = "not a readable HDF5 file";
    return out;
  }
  VisitState st{f.get()};
  // HDF5 1.10 (Debian 12): H5Ovisit2 with H5O_info_t.
  H5Ovisit2(f.get(), H5_INDEX_NAME, H5_ITER_INC, visit, &st, H5O_INFO_BASIC);
  out["datasets"] = st.datasets;
  if (!st.attributes.empty()) out["attributes"] = st.attributes;
  if (Json t = theta_summary(f.get()); !t.is_null()) {
    out["theta"] = t;
    techniques.insert("tomography");
  }
  for (const auto& [path, attrs] : st.attributes.items())
    // input_digest since beamflow recorded xxh128; older volumes have input_sha256 only.
    if (attrs.contains("algorithm") && (attrs.contains("input_digest") || attrs.contains("input_sha256")))
      techniques.insert("reconstruction");
  return out;
}

}  // namespace

Json extract_metadata(const stdfs::path& source) {
  std::vector<std::pair<stdfs::path, std::string>> files;
  std::error_code ec;
  if (stdfs::is_regular_file(source, ec)) {
    if (is_hdf5_name(source)) files.emplace_back(source, source.filename().string());
  } else if (stdfs::is_directory(source, ec)) {
    for (stdfs::recursive_directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && is_hdf5_name(it->path()))
        files.emplace_back(it->path(), stdfs::relative(it->path(), source).generic_string());
  }
  if (files.empty()) return {};
  std::sort(files.begin(), files.end());
  if (files.size() > 64) files.resize(64);  // describe a sample, not a million files
  // HDF5 prints its error stack on failures; a file we cannot read is noted
  // in the result instead.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::set<std::string> techniques;
  Json list = Json::array();
  for (const auto& [path, rel] : files) list.push_back(extract_file(path, rel, techniques));
  Json out = {{"files", list}};
  if (!techniques.empty()) out["technique"] = Json(std::vector<std::string>(techniques.begin(), techniques.end()));
  return out;
}

}  // namespace beamflow::catalog
