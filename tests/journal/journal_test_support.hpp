#pragma once
// Shared by the journal tests: a scratch directory, raw file bytes, journals
// built from a list of commits, expected-error checks (forked children:
// tests/support/process.hpp).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "../support/process.hpp"
#include "core/error.hpp"
#include "journal/journal.hpp"

namespace beamflow::test {

using Bytes = std::vector<std::uint8_t>;

// A fresh directory, removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "beamflow-journal-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// How many entries `dir` holds: temporary files left behind show up here.
inline std::size_t count_entries(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

inline Bytes read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& file, const Bytes& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A payload whose size and content depend on `seed`, so records differ.
inline Bytes payload(unsigned seed, std::size_t size) {
  Bytes p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>(seed * 131u + i * 7u);
  return p;
}

struct Rec {
  std::uint16_t type;
  Bytes payload;
};
using Commit = std::vector<Rec>;

// Creates `file` holding `commits`, one Writer::commit() each.
inline void make_journal(const std::filesystem::path& file, const std::vector<Commit>& commits) {
  auto w = journal::Writer::create(file, journal::Durability::None);
  for (const Commit& c : commits) {
    for (const Rec& r : c) w.append(r.type, r.payload);
    w.commit();
  }
}

// Every record of `commits`, in order.
inline std::vector<Rec> flatten(const std::vector<Commit>& commits) {
  std::vector<Rec> out;
  for (const Commit& c : commits) out.insert(out.end(), c.begin(), c.end());
  return out;
}

inline void expect_records(const std::vector<journal::Record>& got, const std::vector<Rec>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, want[i].type) << "record " << i;
    EXPECT_EQ(got[i].payload, want[i].payload) << "record " << i;
  }
}

// Runs `body`, which must throw beamflow::Error `id` whose what() contains
// every one of `parts`.
inline void expect_error(const std::function<void()>& body, const std::string& id,
                         std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "expected beamflow::Error " << id << ", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_EQ(e.asl_name(), states_error::Runtime) << e.what();
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("[" + id + "] ", 0), 0u) << what;
    for (const std::string& part : parts)
      EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
  }
}

}  // namespace beamflow::test
