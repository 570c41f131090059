#pragma once
// What intake.cpp (one file per submission) and intake_batch.cpp (many
// submissions in one file) share: the folder names, the errors, the
// temporary file a hand-off writes before linking it, and reading one
// submission file. Internal to engine/pilot.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/json.hpp"
#include "pilot/intake.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::pilot::detail {

inline constexpr const char* kInbox = "inbox";
inline constexpr const char* kAccepted = "accepted";
inline constexpr const char* kLedger = "ledger";
inline constexpr const char* kArchive = "archive";  // in accepted/ (intake_archive.hpp)

// pilot.dir.io: "`what`: strerror(errno)" naming `file`.
Error io_error(const std::string& what, const std::filesystem::path& file);
// pilot.submission.invalid naming `file`.
Error invalid(const std::string& file, const std::string& why);

// A temporary file in a folder of the pilot directory holding the data
// written by write_temp(), still open (the caller syncs it, links it under
// its final name and closes it). Anonymous (O_TMPFILE) where the file
// system has them: no name until the link, so nothing to remove after it
// and nothing left behind by a crash. Else a name starting with '.' (no
// reader ever reads it), unique across processes.
struct Temp {
  std::string name;  // in the folder; empty when anonymous
  fs::detail::UniqueFd fd;
  // What link(2) names it by.
  std::string link_source() const { return name.empty() ? "/proc/self/fd/" + std::to_string(fd.get()) : name; }
  std::string what() const { return name.empty() ? "(anonymous)" : name; }
};
Temp write_temp(int dir_fd, const std::filesystem::path& dir, const std::string& data, bool anonymous);
// Links `t` (synced) into `dir_fd` as `final_name`: 0, or the errno of link(2)
// (EEXIST: the name is taken, nothing replaced).
int link_temp(const Temp& t, int dir_fd, const std::string& final_name);

// Whether this directory takes anonymous files and /proc/self/fd can link
// them (tmpfs, ext4, XFS, btrfs do; NFS does not).
bool anonymous_files(int dir_fd);
fs::detail::UniqueFd open_dir(const std::filesystem::path& dir);
Submission read_submission(const std::filesystem::path& file);
// A fresh submission id (random, UUID-like).
std::string fresh_id();

}  // namespace beamflow::pilot::detail

namespace beamflow::pilot::detail {

// A file's identity (device, inode): a ledger link is a hard link, so the
// batch that owns an id is the file its ledger entry is.
struct FileId {
  std::uint64_t dev = 0, ino = 0;
  explicit operator bool() const { return ino != 0; }
  bool operator==(const FileId&) const = default;
};

// A batch file (inbox/B.batch, accepted/B.batch) read whole.
struct BatchFile {
  std::string name;  // B
  FileId id;
  // 1: its entries are owned through ledger links; 2: a watcher's batch
  // ledger, it owns every entry no ledger link gives to another batch
  // (intake.hpp's layout).
  int version = 1;
  struct Entry {
    Submission submission;
    std::size_t offset = 0, length = 0;  // its line in the file
  };
  std::vector<Entry> entries;
  std::vector<Json> definitions;
  std::vector<std::string> bad;  // "FILE line N: why": entries left out
};
FileId id_of(const struct stat& st);
// Throws pilot.submission.invalid when the file or its header cannot be read.
BatchFile read_batch(const std::filesystem::path& file);
// The submission ids of a batch file's entries, told from the text
// without parsing the inputs (a watcher's start reads every batch);
// `version` set from its header. Throws as read_batch.
std::vector<std::string> batch_ids(const std::filesystem::path& file, int* version = nullptr);
// Whether a batch entry with no ledger link is owned by its batch: a format
// 2 batch's is, a format 1 batch's waits for its link (claim()).
inline bool owns_unlinked(int version) { return version >= 2; }
// pilot.submission.id when `id` is in a trigger watcher's namespace
// (is_watcher_id): every hand-off but the watcher's BatchLedger refuses it.
void refuse_watcher_id(const std::string& id);
// One entry's line (file offset and length from read_batch) made a submission.
Submission read_batch_entry(const std::filesystem::path& file, std::size_t offset, std::size_t length,
                            const std::vector<Json>& definitions);
// The batch file that owns `submission_id` (its ledger entry); empty when
// none does. `ledger_fd`: the pilot directory's ledger/ folder.
FileId batch_owner(int ledger_fd, const std::string& submission_id);
// Claims `submission_id` for the batch file `file` (a name in inbox/, or in
// accepted/ once a pilot moved it; its identity `ours`) unless another batch
// owns it: the owner afterwards, empty with errno set when no link could
// be made.
FileId claim(int inbox_fd, int accepted_fd, int ledger_fd, const std::string& submission_id, const std::string& file,
             FileId ours);

}  // namespace beamflow::pilot::detail
