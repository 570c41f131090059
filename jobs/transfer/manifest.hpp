#pragma once
// The durable manifest that lets an interrupted transfer resume at chunk
// granularity (mpifileutils has no resume, #113). It lives in the transfer's
// state folder (`beamflow transfer --state-dir`, default
// $BEAMFLOW_HOME/transfers/SUBMISSION_ID; a flow action's state_dir):
//
//   request.json     the request, its fingerprint and the endpoint roots,
//                    written atomically by the first attempt. Its presence
//                    makes a later run of the same submission a *retry*.
//   lock             flock'ed by rank 0 while a run is in progress.
//   journal-rN.log   one per rank, append-only, one record per line:
//                      <16 hex: XXH3-64 of the JSON> <JSON>\n
//                    {"t":"c","f":DST,"id":[size,mtime_ns,inode],"cs":CHUNK_SIZE,"i":INDEX,"d":"xxh128:..."}
//                      chunk INDEX of DST is in DST's temporary file, and
//                      durable (the data was fdatasync'ed before the line
//                      was appended and fdatasync'ed);
//                    {"t":"f","f":DST,"id":[...],"ck":"sha256:..."}
//                      DST is complete under its final name (renamed, the
//                      rename durable), with this whole-file checksum.
//   result.json      the summary of the attempt that succeeded.
//
// Every rank reads every journal (the rank count may change between
// attempts); a rank cuts a torn last line off its own journal before
// appending; a line whose check fails is ignored, which only means its chunk
// is copied again. Records apply only while the source keeps the same
// (size, mtime, inode) and the same chunk size.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "jobs/transfer/beneath.hpp"
#include "jobs/transfer/plan.hpp"
#include "jobs/transfer/request.hpp"

namespace beamflow::transfer {

struct Endpoint;

struct Attempt {
  bool retry = false;          // an earlier attempt of this submission exists
  std::optional<Json> result;  // ... and it succeeded with this summary
};

class Manifest {
 public:
  // Rank 0, before the others open it: creates the folder, records the
  // request or checks it is the one recorded (else
  // transfer.manifest.other_request: a submission id reused for another
  // request).
  static Attempt prepare(const std::filesystem::path& dir, const TransferRequest& request,
                         const Endpoint& source, const Endpoint& destination);
  static void save_result(const std::filesystem::path& dir, const Json& summary);

  // Every rank: reads every journal, opens its own for appending. The
  // lookups and appends below may be called from several threads (a rank's
  // two copy lanes, transfer.cpp).
  Manifest(const std::filesystem::path& dir, int rank);

  std::optional<std::string> chunk(const std::string& dst, const SourceIdentity& id, std::uint64_t chunk_size,
                                   std::uint64_t index) const;
  bool has_chunks(const std::string& dst, const SourceIdentity& id, std::uint64_t chunk_size) const;
  std::optional<std::string> file(const std::string& dst, const SourceIdentity& id) const;

  // Append + fdatasync. Throws transfer.manifest.io.
  // {index, digest} of chunks whose data is already synced.
  void add_chunks(const std::string& dst, const SourceIdentity& id, std::uint64_t chunk_size,
                  const std::vector<std::pair<std::uint64_t, std::string>>& chunks);
  void add_files(const std::vector<std::pair<std::string, std::pair<SourceIdentity, std::string>>>& files);

  // Records read at open, for tests and the summary: chunk records per key.
  std::size_t chunk_records() const noexcept { return m_chunks.size(); }

 private:
  void append(const std::string& lines);
  void absorb(const std::vector<Json>& records);
  std::filesystem::path m_path;  // this rank's journal, named in its errors
  Fd m_journal;
  std::map<std::string, std::string> m_chunks;  // key -> digest
  std::map<std::string, std::string> m_files;   // key -> checksum
  std::map<std::string, int> m_chunked;         // file key -> count
  mutable std::mutex m_mutex;                   // the maps and the journal, once opened
};

// Parses journal text: the records whose check holds, and the length of the
// prefix made of complete lines (where a torn tail starts).
std::vector<Json> parse_journal(const std::string& text, std::size_t* complete_length = nullptr);
std::string journal_line(const Json& record);

}  // namespace beamflow::transfer
