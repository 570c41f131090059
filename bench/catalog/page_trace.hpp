#pragma once
// Which pages of a SQLite catalog a search reads: a count that does not
// depend on the machine's load, where the first touch of each page is what
// an early search pays for (a page fault through the map, or a read).
// install() makes a VFS that wraps the default one the process's default;
// it records the page number of every read (xRead) and map request (xFetch)
// on a main database file while recording. Pages are attributed to their
// table or index through SQLite's dbstat table.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace beamflow::bench {

class PageTrace {
 public:
  // Registers the recording VFS as the default; once per process, before
  // the catalog is opened.
  static PageTrace& install();
  void start();
  // The distinct pages read since start().
  std::set<std::uint32_t> stop();
  // Names the table or index each page of the database `path` belongs to
  // (reads the whole file once, not recorded).
  void name_pages(const std::string& path);
  const std::string& owner(std::uint32_t page) const;

 private:
  PageTrace() = default;
  std::vector<std::string> m_owner;  // by page number
};

}  // namespace beamflow::bench
