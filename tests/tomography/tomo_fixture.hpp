#pragma once
// Shared by the tomography tests: a scratch directory every rank sees, and
// small Data Exchange files written through jobs/dx_writer.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../support/expect_error.hpp"
#include "core/error.hpp"
#include "parallel/comm.hpp"
#include "jobs/tomography/phantom_job.hpp"

namespace beamflow::jobs::testing {

const parallel::Comm& world();

// A fresh directory, the same path on every rank (collective), removed by
// rank 0 when the fixture ends.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// A small synthetic Data Exchange file: projections whose value at
// (angle a, row r, column c) is a known function, flats, darks and theta.
struct DxSpec {
  std::int64_t angles = 6, rows = 5, columns = 8, flats = 2, darks = 2;
  bool uint16 = true;
  bool with_flat = true, with_dark = true, with_theta = true;
  std::string theta_units = "degrees";
  std::int64_t flat_columns = -1;  // != columns to make a mismatched file
  std::int64_t theta_length = -1;  // != angles likewise
  float flat_value = 1000;         // <= 0 for a bad flat
  bool nan_in_data = false;        // float data only
};
// Raw projection value of the synthetic file.
float dx_value(std::int64_t a, std::int64_t r, std::int64_t c);
void write_dx(const std::filesystem::path& path, const DxSpec& spec);

// Options for a small phantom at `output` (width `size`).
PhantomOptions small_phantom(const std::filesystem::path& output, std::int64_t size, std::int64_t angles,
                             std::int64_t rows);

using beamflow::test::expect_error;  // tests/support/expect_error.hpp

}  // namespace beamflow::jobs::testing
