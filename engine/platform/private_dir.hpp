#pragma once
// Owner-only state directories ($BEAMFLOW_HOME and everything under it):
// created 0700 whatever the umask, and a home that other users can write is
// refused, since whoever can write there can plant a run, a journal or a
// model that beamflow then trusts. Files are created 0600 by the writers
// (posix_file.hpp's TempFile, FileLock, the command supervisor).
#include <filesystem>
#include <string>

namespace beamflow::fs {

// Creates `dir` and every missing parent, each new one with mode 0700
// (chmod'ed after mkdir, so the umask neither widens nor narrows it).
// Existing directories are left as they are. Throws Error `error_id` (with
// the errno) naming the directory that could not be created.
void create_private_directories(const std::filesystem::path& dir, const std::string& error_id);

// Throws Error `error_id` when `dir` exists and its group or other users may
// write to it (its mode has 020 or 002). Does nothing when `dir` does not
// exist.
void refuse_shared_directory(const std::filesystem::path& dir, const std::string& error_id);

}  // namespace beamflow::fs
