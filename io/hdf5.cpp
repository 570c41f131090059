#include "io/hdf5.hpp"

#include <H5FDmpio.h>

#include "core/error.hpp"

namespace beamflow::io::h5 {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    m_id = other.m_id;
    other.m_id = H5I_INVALID_HID;
  }
  return *this;
}

bool Handle::reset() noexcept {
  if (m_id < 0) return true;
  herr_t status = 0;
  switch (H5Iget_type(m_id)) {
    case H5I_FILE:
      status = H5Fclose(m_id);
      break;
    case H5I_GROUP:
      status = H5Gclose(m_id);
      break;
    case H5I_DATASET:
      status = H5Dclose(m_id);
      break;
    case H5I_DATASPACE:
      status = H5Sclose(m_id);
      break;
    case H5I_DATATYPE:
      status = H5Tclose(m_id);
      break;
    case H5I_ATTR:
      status = H5Aclose(m_id);
      break;
    case H5I_GENPROP_LST:
      status = H5Pclose(m_id);
      break;
    default:
      status = H5Idec_ref(m_id);
      break;
  }
  m_id = H5I_INVALID_HID;
  return status >= 0;
}

void silence_errors() noexcept { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
// The innermost (first-pushed) description of the current error stack:
// usually the most specific ("file signature not found", "truncated file").
herr_t take_innermost(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n == 0 && err->desc) *out = err->desc;
  return 0;
}

std::string innermost_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &message);
  H5Eclear2(H5E_DEFAULT);
  return message;
}
}  // namespace

void fail(const Site& site, const std::string& what) {
  std::string message = what;
  if (std::string detail = innermost_message(); !detail.empty()) message += ": " + detail;
  Error::Context context{{"file", site.file}};
  if (!site.dataset.empty()) context.emplace_back("dataset", site.dataset);
  throw Error(site.id, site.asl_name, message, std::move(context));
}

Handle own(hid_t id, const Site& site, const std::string& what) {
  if (id < 0) fail(site, what);
  return Handle(id);
}

void check(herr_t status, const Site& site, const std::string& what) {
  if (status < 0) fail(site, what);
}

Handle open_file(const std::filesystem::path& path, Access access, std::optional<MPI_Comm> comm,
                 const Site& site, hsize_t alignment, std::optional<std::size_t> sieve_bytes) {
  silence_errors();
  Handle fapl = own(H5Pcreate(H5P_FILE_ACCESS), site, "cannot create a file access list");
  if (comm) check(H5Pset_fapl_mpio(fapl.get(), *comm, MPI_INFO_NULL), site, "cannot use MPI-IO");
  // The 1.8 format stores attributes larger than 64 KiB (one centre per
  // slice for thousands of slices) and is read by every HDF5 since 1.8.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), site,
        "cannot set the file format bounds");
  if (alignment > 0)
    check(H5Pset_alignment(fapl.get(), alignment, alignment), site, "cannot set the file's alignment");
  if (sieve_bytes)
    check(H5Pset_sieve_buf_size(fapl.get(), *sieve_bytes), site, "cannot set the sieve buffer's size");
  const std::string name = path.string();
  switch (access) {
    case Access::ReadOnly:
      return own(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()), site, "cannot open for reading");
    case Access::ReadWrite:
      return own(H5Fopen(name.c_str(), H5F_ACC_RDWR, fapl.get()), site, "cannot open for writing");
    case Access::Create:
      return own(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), site, "cannot create");
  }
  fail(site, "unknown access mode");
}

bool exists(hid_t file, const std::string& path) {
  // H5Lexists fails (rather than answering false) when an intermediate
  // group is missing, so walk the path one component at a time.
  std::string prefix;
  std::size_t begin = path.starts_with('/') ? 1 : 0;
  while (begin <= path.size()) {
    std::size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    if (end == begin) break;
    prefix += "/" + path.substr(begin, end - begin);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    begin = end + 1;
  }
  return !prefix.empty();
}

std::optional<Handle> try_open_dataset(hid_t file, const std::string& path, const Site& site) {
  if (!exists(file, path)) return std::nullopt;
  return own(H5Dopen2(file, path.c_str(), H5P_DEFAULT), site.at(path), "cannot open dataset");
}

std::vector<hsize_t> dims(hid_t dataset, const Site& site) {
  Handle space = own(H5Dget_space(dataset), site, "cannot read the dataset's shape");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(site, "cannot read the dataset's rank");
  std::vector<hsize_t> out(static_cast<std::size_t>(rank));
  if (rank > 0)
    check(H5Sget_simple_extent_dims(space.get(), out.data(), nullptr), site,
          "cannot read the dataset's shape");
  return out;
}

bool is_float_type(hid_t dataset, const Site& site) {
  Handle type = own(H5Dget_type(dataset), site, "cannot read the dataset's type");
  return H5Tget_class(type.get()) == H5T_FLOAT;
}

void create_parents(hid_t file, const std::string& path, const Site& site) {
  std::size_t slash = 0;
  while ((slash = path.find('/', slash + 1)) != std::string::npos) {
    const std::string group = path.substr(0, slash);
    if (exists(file, group)) continue;
    own(H5Gcreate2(file, group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), site.at(group),
        "cannot create group");
  }
}

Handle transfer_list(Transfer transfer, const Site& site) {
  if (transfer == Transfer::Default) return Handle(H5Pcreate(H5P_DATASET_XFER));
  Handle dxpl = own(H5Pcreate(H5P_DATASET_XFER), site, "cannot create a transfer list");
  check(H5Pset_dxpl_mpio(dxpl.get(),
                         transfer == Transfer::Collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
        site, "cannot set the MPI-IO transfer mode");
  return dxpl;
}

namespace {
// File and memory dataspaces for one hyperslab; "none" selections when any
// extent is zero.
std::pair<Handle, Handle> slab_spaces(hid_t dataset, const std::vector<hsize_t>& start,
                                      const std::vector<hsize_t>& count, const Site& site) {
  Handle file_space = own(H5Dget_space(dataset), site, "cannot read the dataset's shape");
  bool empty = false;
  for (hsize_t c : count) empty = empty || c == 0;
  if (empty) {
    check(H5Sselect_none(file_space.get()), site, "cannot select nothing");
    Handle mem_space = own(H5Scopy(file_space.get()), site, "cannot copy a dataspace");
    check(H5Sselect_none(mem_space.get()), site, "cannot select nothing");
    return {std::move(file_space), std::move(mem_space)};
  }
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        site, "cannot select the hyperslab");
  Handle mem_space = own(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), site,
                         "cannot create a dataspace");
  return {std::move(file_space), std::move(mem_space)};
}
}  // namespace

void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
               hid_t mem_type, void* buffer, hid_t dxpl, const Site& site) {
  auto [file_space, mem_space] = slab_spaces(dataset, start, count, site);
  float dummy = 0;  // HDF5 rejects a null buffer even for an empty selection
  check(H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), dxpl, buffer ? buffer : &dummy), site,
        "cannot read");
}

void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                hid_t mem_type, const void* buffer, hid_t dxpl, const Site& site) {
  auto [file_space, mem_space] = slab_spaces(dataset, start, count, site);
  const float dummy = 0;
  check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), dxpl, buffer ? buffer : &dummy), site,
        "cannot write");
}

std::uint64_t raw_data_offset(hid_t dataset, hid_t native_type, const Site& site) {
  Handle dcpl = own(H5Dget_create_plist(dataset), site, "cannot read the dataset's creation properties");
  if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0)
    fail(site, "the dataset is not contiguous and unfiltered");
  Handle type = own(H5Dget_type(dataset), site, "cannot read the dataset's type");
  if (H5Tequal(type.get(), native_type) <= 0) fail(site, "the dataset's stored type is not the expected one");
  const haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF) fail(site, "the dataset's storage is not allocated");
  return static_cast<std::uint64_t>(offset);
}

namespace {
Handle fresh_attribute(hid_t object, const std::string& name, hid_t type, hid_t space, const Site& site) {
  if (H5Aexists(object, name.c_str()) > 0)
    check(H5Adelete(object, name.c_str()), site, "cannot replace attribute " + name);
  return own(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), site,
             "cannot create attribute " + name);
}

template <class T>
void write_numeric(hid_t object, const std::string& name, hid_t type, const T* values, hsize_t n, bool scalar,
                   const Site& site) {
  Handle space = own(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), site,
                     "cannot create a dataspace");
  Handle attr = fresh_attribute(object, name, type, space.get(), site);
  check(H5Awrite(attr.get(), type, values), site, "cannot write attribute " + name);
}
}  // namespace

void write_attribute(hid_t object, const std::string& name, const std::string& value, const Site& site) {
  Handle type = own(H5Tcopy(H5T_C_S1), site, "cannot create a string type");
  check(H5Tset_size(type.get(), value.empty() ? 1 : value.size()), site, "cannot size a string");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), site, "cannot set a string's character set");
  Handle space = own(H5Screate(H5S_SCALAR), site, "cannot create a dataspace");
  Handle attr = fresh_attribute(object, name, type.get(), space.get(), site);
  const std::string stored = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), stored.data()), site, "cannot write attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, double value, const Site& site) {
  write_numeric(object, name, H5T_NATIVE_DOUBLE, &value, 1, true, site);
}

void write_attribute(hid_t object, const std::string& name, std::int64_t value, const Site& site) {
  write_numeric(object, name, H5T_NATIVE_INT64, &value, 1, true, site);
}

void write_attribute(hid_t object, const std::string& name, const std::vector<double>& values,
                     const Site& site) {
  write_numeric(object, name, H5T_NATIVE_DOUBLE, values.data(), values.size(), false, site);
}

std::optional<std::string> read_string_attribute(hid_t object, const std::string& name, const Site& site) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Handle attr = own(H5Aopen(object, name.c_str(), H5P_DEFAULT), site, "cannot open attribute " + name);
  Handle type = own(H5Aget_type(attr.get()), site, "cannot read attribute type " + name);
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(type.get()) > 0) {
    // Written by h5py and most Python tools.
    char* value = nullptr;
    Handle mem = own(H5Tcopy(H5T_C_S1), site, "cannot create a string type");
    check(H5Tset_size(mem.get(), H5T_VARIABLE), site, "cannot size a string");
    // HDF5 will not convert between character sets, and h5py writes UTF-8.
    check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), site, "cannot set a string's character set");
    check(H5Aread(attr.get(), mem.get(), &value), site, "cannot read attribute " + name);
    std::string out = value ? value : "";
    Handle space = own(H5Aget_space(attr.get()), site, "cannot read attribute space");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, &value);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), out.data()), site, "cannot read attribute " + name);
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

std::optional<std::vector<double>> read_double_attribute(hid_t object, const std::string& name,
                                                         const Site& site) {
  if (H5Aexists(object, name.c_str()) <= 0) return std::nullopt;
  Handle attr = own(H5Aopen(object, name.c_str(), H5P_DEFAULT), site, "cannot open attribute " + name);
  Handle type = own(H5Aget_type(attr.get()), site, "cannot read attribute type " + name);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) return std::nullopt;
  Handle space = own(H5Aget_space(attr.get()), site, "cannot read attribute space");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(site, "cannot read the size of attribute " + name);
  std::vector<double> out(static_cast<std::size_t>(n));
  check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, out.data()), site, "cannot read attribute " + name);
  return out;
}

}  // namespace beamflow::io::h5
