#include "platform/private_dir.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "core/error.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::fs {

void create_private_directories(const std::filesystem::path& dir, const std::string& error_id) {
  std::filesystem::path prefix;
  for (const auto& part : dir.lexically_normal()) {
    prefix /= part;
    if (part.empty() || part == prefix.root_path()) continue;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      if (::chmod(prefix.c_str(), 0700) != 0)
        detail::throw_system_error(error_id, "cannot make the new directory owner-only", prefix, errno);
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    detail::throw_system_error(error_id, err == EEXIST ? "exists and is not a directory" : "cannot create directory",
                               prefix, err == EEXIST ? 0 : err);
  }
}

void refuse_shared_directory(const std::filesystem::path& dir, const std::string& error_id) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  throw Error(error_id, states_error::Runtime,
              std::string("other users can write to it (mode ") + mode +
                  "); refusing to keep beamflow's state there: chmod go-w it, or choose another BEAMFLOW_HOME",
              {{"dir", dir.string()}});
}

}  // namespace beamflow::fs
