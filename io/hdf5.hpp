#pragma once
// HDF5 for the tomography jobs: one RAII handle for every kind of HDF5 id,
// and the few operations the jobs need, each turning an HDF5 failure into a
// beamflow::Error naming the file and dataset. HDF5's own error printing is
// silenced: the innermost message of its error stack goes into our message.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace beamflow::io::h5 {

// Owns one HDF5 id (file, group, dataset, dataspace, datatype, attribute or
// property list) and closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) noexcept : m_id(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : m_id(other.m_id) { other.m_id = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  ~Handle() { reset(); }

  hid_t get() const noexcept { return m_id; }
  explicit operator bool() const noexcept { return m_id >= 0; }
  // Closes the id now; returns false when HDF5 reports a failure (for a
  // file opened for writing this is where buffered data reach the disk).
  bool reset() noexcept;

 private:
  hid_t m_id = H5I_INVALID_HID;
};

// Where an HDF5 call is made: the error id and ASL name to raise when it
// fails, and the file and dataset for the message's context.
struct Site {
  std::string id;
  const char* asl_name;
  std::string file;
  std::string dataset = {};
  Site at(std::string dataset_path) const { return {id, asl_name, file, std::move(dataset_path)}; }
};

// Turns off HDF5's automatic printing of its error stack (for this thread).
void silence_errors() noexcept;

// Throws the beamflow::Error for `site`: "<what>: <innermost HDF5 message>".
[[noreturn]] void fail(const Site& site, const std::string& what);
// `id` when valid, else fail(site, what).
Handle own(hid_t id, const Site& site, const std::string& what);
void check(herr_t status, const Site& site, const std::string& what);

enum class Access { ReadOnly, ReadWrite, Create };
// Opens (or creates, truncating) a file. With `comm`, through the MPI-IO
// driver (every rank of comm must call); without, the default POSIX driver.
// A non-zero `alignment` (creating) starts every allocation of at least that
// many bytes (a large dataset's raw data) at a multiple of it.
// `sieve_bytes` sets the raw-data sieve buffer (HDF5's default: 64 KiB).
// Through it, each piece of a hyperslab of a contiguous dataset smaller than
// the buffer is read as a whole buffer and copied out: rows of an angle x row
// x column stack, whose angles lie further apart than the buffer, cost 64 KiB
// of read for each angle's piece (8 KiB at 2048 columns x 2 rows). 0: every
// piece is read straight into the caller's memory, one read each.
Handle open_file(const std::filesystem::path& path, Access access, std::optional<MPI_Comm> comm,
                 const Site& site, hsize_t alignment = 0, std::optional<std::size_t> sieve_bytes = std::nullopt);

// True when every component of the absolute `path` ("/exchange/data") exists.
bool exists(hid_t file, const std::string& path);
// Opens a dataset; nullopt when it does not exist, fail(site) on other errors.
std::optional<Handle> try_open_dataset(hid_t file, const std::string& path, const Site& site);
std::vector<hsize_t> dims(hid_t dataset, const Site& site);
// H5T_NATIVE_FLOAT, H5T_NATIVE_UINT16, ... : the class and size of the stored type.
bool is_float_type(hid_t dataset, const Site& site);

// Creates every missing group of `path`'s parent ("/exchange" for "/exchange/data").
void create_parents(hid_t file, const std::string& path, const Site& site);

// A dataset transfer property list: collective or independent MPI-IO, or
// the default (serial files).
enum class Transfer { Default, Independent, Collective };
Handle transfer_list(Transfer transfer, const Site& site);

// Reads or writes the hyperslab [start, start+count) of `dataset`, as
// `mem_type`, into/from a dense C-order buffer. A count with a zero extent
// selects nothing: the call is still made, so collective transfers work on
// ranks that have no rows.
void read_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
               hid_t mem_type, void* buffer, hid_t dxpl, const Site& site);
void write_slab(hid_t dataset, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                hid_t mem_type, const void* buffer, hid_t dxpl, const Site& site);

// The file offset of a dataset's raw data, for callers that write its bytes
// themselves (pwrite from each rank, no HDF5 or MPI-IO on the data path).
// Fails (site's id, "not contiguous ...") unless the dataset is contiguous,
// unfiltered, allocated, and stored as `native_type` exactly (H5Tequal:
// class, size and byte order), so that the bytes of a `native_type` array
// are the stored values.
std::uint64_t raw_data_offset(hid_t dataset, hid_t native_type, const Site& site);

// Attributes on an object (file, group or dataset). Writers replace an
// existing attribute; readers return nullopt when it is absent.
void write_attribute(hid_t object, const std::string& name, const std::string& value, const Site& site);
void write_attribute(hid_t object, const std::string& name, double value, const Site& site);
void write_attribute(hid_t object, const std::string& name, std::int64_t value, const Site& site);
void write_attribute(hid_t object, const std::string& name, const std::vector<double>& values,
                     const Site& site);
std::optional<std::string> read_string_attribute(hid_t object, const std::string& name, const Site& site);
std::optional<std::vector<double>> read_double_attribute(hid_t object, const std::string& name,
                                                         const Site& site);

}  // namespace beamflow::io::h5
