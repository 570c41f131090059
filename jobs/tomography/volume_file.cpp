#include "jobs/tomography/volume_file.hpp"

#include "core/json_parse.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>

#include "jobs/tomography/errors.hpp"
#include "jobs/tomography/input_checksum.hpp"
#include "kernels/common/host_pages.hpp"

namespace beamflow::jobs {

namespace {
constexpr const char* kFftPlansAttribute = "fft_plans";
constexpr const char* kInputDigestAttribute = "input_digest";
constexpr const char* kInputSha256Attribute = "input_sha256";  // before input_digest; SHA-256 only

std::string join(const std::vector<double>& v, std::size_t limit = 4) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return v.size() > limit ? out + ",..." : out;
}

io::h5::Site output_site(const std::filesystem::path& path, const std::string& dataset = {}) {
  return {"tomo.output.write", tomo_asl::Output, path.string(), dataset};
}

// Contiguous, allocated when created: later writes touch raw data only,
// never the file's metadata (see the header comment on checkpointing).
io::h5::Handle create_dataset(hid_t file, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                          bool fill_zero, const io::h5::Site& site) {
  io::h5::Handle space = io::h5::own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), site,
                             "cannot create a dataspace");
  io::h5::Handle dcpl = io::h5::own(H5Pcreate(H5P_DATASET_CREATE), site, "cannot create a property list");
  io::h5::check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), site, "cannot set the layout");
  io::h5::check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), site, "cannot set allocation");
  if (fill_zero) {
    const unsigned char zero[8] = {};
    io::h5::check(H5Pset_fill_value(dcpl.get(), type, zero), site, "cannot set the fill value");
    io::h5::check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC), site, "cannot set the fill time");
  } else {
    // Terabyte volumes: do not write zeros that every slice overwrites.
    io::h5::check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), site, "cannot set the fill time");
  }
  io::h5::create_parents(file, name, site);
  return io::h5::own(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                 site.at(name), "cannot create dataset");
}
}  // namespace

std::string VolumeHeader::difference(const VolumeHeader& o) const {
  auto differs = [](const char* what, const auto& a, const auto& b) -> std::string {
    if constexpr (std::is_same_v<std::decay_t<decltype(a)>, std::string>)
      return a == b ? "" : std::string(what) + ": '" + a + "' vs '" + b + "'";
    else
      return a == b ? "" : std::string(what) + ": " + std::to_string(a) + " vs " + std::to_string(b);
  };
  for (std::string d :
       {differs("slices", slices, o.slices), differs("width", width, o.width),
        differs("first row", rows.begin, o.rows.begin), differs("algorithm", algorithm, o.algorithm),
        differs("filter", filter, o.filter), differs("pad", pad, o.pad),
        differs("input file", input_file, o.input_file),
        differs("input digest", input_digest, o.input_digest),
        differs("input dataset", input_dataset, o.input_dataset), differs("version", version, o.version)})
    if (!d.empty()) return d;
  if (centers != o.centers) return "centres: " + join(centers) + " vs " + join(o.centers);
  if (parameters != o.parameters) return "parameters: " + parameters.dump() + " vs " + o.parameters.dump();
  return {};
}

void VolumeFile::create(const std::filesystem::path& path, const VolumeHeader& h,
                        const std::string& fft_plans) {
  const std::filesystem::path temporary = path.string() + ".creating";
  {
    const io::h5::Site site = output_site(temporary);
    io::h5::Handle file = io::h5::open_file(temporary, io::h5::Access::Create, std::nullopt, site, kDirectAlignment);
    const auto s = static_cast<hsize_t>(h.slices), w = static_cast<hsize_t>(h.width);
    io::h5::Handle data = create_dataset(file.get(), kVolumeDataset, H5T_NATIVE_FLOAT, {s, w, w}, false, site);
    create_dataset(file.get(), kDoneDataset, H5T_NATIVE_UINT8, {s}, true, site);
    const io::h5::Site at = site.at(kVolumeDataset);
    const hid_t d = data.get();
    io::h5::write_attribute(d, "units", std::string("attenuation per pixel"), at);
    io::h5::write_attribute(d, "software", std::string("beamflow"), at);
    io::h5::write_attribute(d, "version", h.version, at);
    io::h5::write_attribute(d, "algorithm", h.algorithm, at);
    io::h5::write_attribute(d, "filter", h.filter, at);
    io::h5::write_attribute(d, "pad", h.pad, at);
    io::h5::write_attribute(d, "center", h.centers, at);
    io::h5::write_attribute(d, "rows_begin", h.rows.begin, at);
    io::h5::write_attribute(d, "rows_end", h.rows.end, at);
    io::h5::write_attribute(d, "input_file", h.input_file, at);
    io::h5::write_attribute(d, kInputDigestAttribute, h.input_digest, at);
    if (const auto hex = sha256_hex_of(h.input_digest)) io::h5::write_attribute(d, kInputSha256Attribute, *hex, at);
    io::h5::write_attribute(d, "input_dataset", h.input_dataset, at);
    io::h5::write_attribute(d, "parameters", h.parameters.dump(), at);
    if (!fft_plans.empty()) io::h5::write_attribute(d, kFftPlansAttribute, fft_plans, at);
    data.reset();
    if (!file.reset()) io::h5::fail(site, "cannot close");
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    throw output_error("tomo.output.write", "cannot move the new output into place: " + ec.message(),
                       {{"file", path.string()}});
}

std::filesystem::path partial_output_path(const std::filesystem::path& output) {
  return output.string() + ".partial";
}

VolumeHeader VolumeFile::read_header(const std::filesystem::path& path) {
  const std::string hint = "; remove it or pass --overwrite";
  auto not_ours = [&](const std::string& why) {
    return output_error("tomo.output.exists", "output exists and " + why + hint,
                        {{"file", path.string()}, {"dataset", kVolumeDataset}});
  };
  io::h5::Handle file;
  try {
    file = io::h5::open_file(path, io::h5::Access::ReadOnly, std::nullopt, output_site(path));
  } catch (const Error&) {
    throw not_ours("is not a readable HDF5 file");
  }
  const io::h5::Site site = output_site(path, kVolumeDataset);
  auto data = io::h5::try_open_dataset(file.get(), kVolumeDataset, site);
  auto done = io::h5::try_open_dataset(file.get(), kDoneDataset, site);
  if (!data || !done)
    throw not_ours("is not a beamflow reconstruction (no " + std::string(kDoneDataset) + ")");
  const auto dims = io::h5::dims(data->get(), site);
  const hid_t d = data->get();
  auto text = [&](const char* name) {
    auto v = io::h5::read_string_attribute(d, name, site);
    if (!v) throw not_ours(std::string("lacks the attribute ") + name);
    return *v;
  };
  auto number = [&](const char* name) {
    auto v = io::h5::read_double_attribute(d, name, site);
    if (!v || v->size() != 1) throw not_ours(std::string("lacks the attribute ") + name);
    return static_cast<std::int64_t>(v->front());
  };
  if (dims.size() != 3) throw not_ours("its volume is not 3-D");
  VolumeHeader h;
  h.slices = static_cast<std::int64_t>(dims[0]);
  h.width = static_cast<std::int64_t>(dims[2]);
  h.rows = {number("rows_begin"), number("rows_end")};
  h.algorithm = text("algorithm");
  h.filter = text("filter");
  h.pad = number("pad");
  h.centers = io::h5::read_double_attribute(d, "center", site).value_or(std::vector<double>{});
  h.input_file = text("input_file");
  const auto digest = io::h5::read_string_attribute(d, kInputDigestAttribute, site);
  h.input_digest = digest ? *digest : sha256_digest(text(kInputSha256Attribute));
  h.input_dataset = text("input_dataset");
  h.version = text("version");
  try {
    h.parameters = parse_json_keep_syntax_errors(text("parameters"), "parameters attribute");
  } catch (const std::exception&) {  // not JSON, or json.too_deep
    throw not_ours("has unreadable parameters");
  }
  return h;
}

std::string VolumeFile::read_fft_plans(const std::filesystem::path& path) {
  io::h5::Handle file = io::h5::open_file(path, io::h5::Access::ReadOnly, std::nullopt, output_site(path));
  const io::h5::Site site = output_site(path, kVolumeDataset);
  const auto data = io::h5::try_open_dataset(file.get(), kVolumeDataset, site);
  if (!data) return {};
  return io::h5::read_string_attribute(data->get(), kFftPlansAttribute, site).value_or(std::string{});
}

VolumeFile::VolumeFile(const std::filesystem::path& path) : m_path(path) {
  {
    const io::h5::Site site = output_site(path);
    io::h5::Handle file = io::h5::open_file(path, io::h5::Access::ReadOnly, std::nullopt, site);
    auto data = io::h5::try_open_dataset(file.get(), kVolumeDataset, site);
    auto done = io::h5::try_open_dataset(file.get(), kDoneDataset, site);
    if (!data || !done) io::h5::fail(site.at(kDoneDataset), "the output lacks its datasets");
    const auto dims = io::h5::dims(data->get(), site.at(kVolumeDataset));
    if (dims.size() != 3 || io::h5::dims(done->get(), site.at(kDoneDataset)) != std::vector<hsize_t>{dims[0]})
      io::h5::fail(site.at(kVolumeDataset), "the output's datasets have unexpected shapes");
    m_slices = static_cast<std::int64_t>(dims[0]);
    m_width = static_cast<std::int64_t>(dims[2]);
    m_data_offset = io::h5::raw_data_offset(data->get(), H5T_NATIVE_FLOAT, site.at(kVolumeDataset));
    m_done_offset = io::h5::raw_data_offset(done->get(), H5T_NATIVE_UINT8, site.at(kDoneDataset));
  }
  m_fd = fs::detail::UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!m_fd)
    throw output_error("tomo.output.write", std::string("cannot open for writing: ") + std::strerror(errno),
                       {{"file", path.string()}});
  if (m_data_offset % kDirectAlignment == 0)  // else no slice write is ever aligned
    m_direct = fs::detail::UniqueFd(::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  m_sync.emplace(m_fd.get());
}

AlignedFloats aligned_floats(std::size_t count) {
  const std::size_t bytes = (count * sizeof(float) + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  AlignedFloats out;
  if (bytes == 0) return out;
  static_assert(kernels::kHugePage % kDirectAlignment == 0);
  out.values.reset(static_cast<float*>(kernels::allocate_large(bytes)));  // in huge pages: host_pages.hpp
  out.capacity = count;
  return out;
}

bool VolumeFile::write_direct(const void* data, std::size_t size, std::uint64_t offset) {
  if (!m_direct || offset % kDirectAlignment != 0 || size % kDirectAlignment != 0 ||
      reinterpret_cast<std::uintptr_t>(data) % kDirectAlignment != 0)
    return false;
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(m_direct.get(), p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || static_cast<std::size_t>(n) % kDirectAlignment != 0) {
      // The filesystem refuses direct I/O after all (or wrote a ragged
      // piece): the rest goes through the page cache, now and from now on.
      m_direct.close();
      const std::size_t written = n > 0 ? static_cast<std::size_t>(n) : 0;
      pwrite_all(m_fd.get(), p + written, size - written, offset + written, kVolumeDataset);
      return true;
    }
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<std::uint8_t> VolumeFile::done() const {
  std::vector<std::uint8_t> flags(static_cast<std::size_t>(m_slices));
  std::size_t got = 0;
  while (got < flags.size()) {
    const ssize_t n = ::pread(m_fd.get(), flags.data() + got, flags.size() - got,
                              static_cast<off_t>(m_done_offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw output_error("tomo.output.write",
                         std::string("cannot read the done flags: ") + (n < 0 ? std::strerror(errno) : "file too short"),
                         {{"file", m_path.string()}, {"dataset", kDoneDataset}});
    got += static_cast<std::size_t>(n);
  }
  return flags;
}

void VolumeFile::pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                            const char* dataset) const {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw output_error("tomo.output.write", std::string("cannot write: ") + std::strerror(n < 0 ? errno : EIO),
                         {{"file", m_path.string()}, {"dataset", dataset}});
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

void VolumeFile::commit(parallel::RowRange range, const float* data) {
  if (range.empty()) return;
  if (range.begin < 0 || range.end > m_slices)
    throw output_error("tomo.output.write", "slices outside the volume", {{"file", m_path.string()}});
  const auto slice = static_cast<std::uint64_t>(m_width * m_width) * sizeof(float);
  // The slices first: a done flag is written only once its slice is in the file.
  const std::size_t bytes = static_cast<std::size_t>(range.size()) * slice;
  const std::uint64_t offset = m_data_offset + static_cast<std::uint64_t>(range.begin) * slice;
  if (!write_direct(data, bytes, offset)) pwrite_all(m_fd.get(), data, bytes, offset, kVolumeDataset);
  const std::vector<std::uint8_t> ones(static_cast<std::size_t>(range.size()), 1);
  pwrite_all(m_fd.get(), ones.data(), ones.size(), m_done_offset + static_cast<std::uint64_t>(range.begin),
             kDoneDataset);
  m_sync->behind();
}

void VolumeFile::close() {
  if (const int err = m_sync->finish())
    throw output_error("tomo.output.write", std::string("cannot sync: ") + std::strerror(err),
                       {{"file", m_path.string()}});
  m_direct.close();
  if (const int err = m_fd.close())
    throw output_error("tomo.output.write", std::string("cannot close: ") + std::strerror(err),
                       {{"file", m_path.string()}});
}

void check_output_directory(const std::filesystem::path& path) {
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec))
    throw output_error("tomo.output.unwritable",
                       "the output's directory " + parent.string() + " does not exist",
                       {{"file", path.string()}});
}

namespace {
struct OpenVolume {
  io::h5::Handle file, data;
  std::array<std::int64_t, 3> shape{};
};

OpenVolume open_volume(const std::filesystem::path& path, const std::string& dataset) {
  const io::h5::Site site{"tomo.output.unreadable", tomo_asl::Output, path.string(), dataset};
  OpenVolume v;
  v.file = io::h5::open_file(path, io::h5::Access::ReadOnly, std::nullopt, site);
  auto data = io::h5::try_open_dataset(v.file.get(), dataset, site);
  if (!data)
    throw output_error("tomo.output.unreadable", "the volume dataset is missing",
                       {{"file", path.string()}, {"dataset", dataset}});
  const auto dims = io::h5::dims(data->get(), site);
  if (dims.size() != 3)
    throw output_error("tomo.output.unreadable", "the volume is not 3-D",
                       {{"file", path.string()}, {"dataset", dataset}});
  v.data = std::move(*data);
  for (std::size_t i = 0; i < 3; ++i) v.shape[i] = static_cast<std::int64_t>(dims[i]);
  return v;
}
}  // namespace

std::array<std::int64_t, 3> volume_shape(const std::filesystem::path& path, const std::string& dataset) {
  return open_volume(path, dataset).shape;
}

VolumeSlab read_volume(const std::filesystem::path& path, std::optional<parallel::RowRange> range,
                       const std::string& dataset) {
  const io::h5::Site site{"tomo.output.unreadable", tomo_asl::Output, path.string(), dataset};
  const OpenVolume v = open_volume(path, dataset);
  const parallel::RowRange r = range.value_or(parallel::RowRange{0, v.shape[0]});
  if (r.begin < 0 || r.end > v.shape[0] || r.empty())
    throw usage_error("slice",
                      "slices " + std::to_string(r.begin) + ":" + std::to_string(r.end) +
                          " are not within the volume's " + std::to_string(v.shape[0]),
                      {{"file", path.string()}, {"dataset", dataset}});
  VolumeSlab out{r.size(), v.shape[1], v.shape[2], {}};
  out.values.resize(static_cast<std::size_t>(out.slices * out.height * out.width));
  io::h5::Handle dxpl = io::h5::transfer_list(io::h5::Transfer::Default, site);
  io::h5::read_slab(
      v.data.get(), {static_cast<hsize_t>(r.begin), 0, 0},
      {static_cast<hsize_t>(r.size()), static_cast<hsize_t>(out.height), static_cast<hsize_t>(out.width)},
      H5T_NATIVE_FLOAT, out.values.data(), dxpl.get(), site);
  return out;
}

}  // namespace beamflow::jobs
