#pragma once
// Failures of the storage beamflow keeps its own state on (issue 9, section
// 2): a full disk (ENOSPC), a quota (EDQUOT), an I/O error (EIO) or a
// read-only file system (EROFS) while writing the journal, a status file or
// an action's state files (actions/<id>/*.json) are not the action's fault.
// The run stops INTERRUPTED with a clear message and resumes once the cause
// is gone; only the action's own failure becomes a TaskFailed.
#include <exception>

namespace beamflow::fs {

bool is_storage_errno(int err) noexcept;
// A beamflow::Error whose system_errno() is one of those, or a
// std::system_error (std::filesystem::filesystem_error) with one.
bool is_storage_failure(const std::exception& e) noexcept;

}  // namespace beamflow::fs
