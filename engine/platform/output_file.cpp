#include "platform/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.hpp"
#include "platform/fs.hpp"

namespace beamflow::fs {
namespace {

namespace stdfs = std::filesystem;

Error output_error(const char* id, const std::string& message, const stdfs::path& path) {
  return Error(id, states_error::Runtime, message, {{"file", path.string()}});
}

void fsync_file(const stdfs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error("fs.write", states_error::Runtime, std::string("cannot open the new output: ") + std::strerror(errno),
                {{"file", file.string()}});
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0)
    throw Error("fs.write", states_error::Runtime, std::string("cannot fsync the new output: ") + std::strerror(err),
                {{"file", file.string()}});
}

stdfs::path directory_of(const stdfs::path& path) {
  const stdfs::path parent = path.parent_path();
  return parent.empty() ? stdfs::path(".") : parent;
}

}  // namespace

bool same_file(const stdfs::path& a, const stdfs::path& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void check_not_input(const stdfs::path& path, const std::vector<stdfs::path>& inputs, const std::string& what) {
  for (const auto& input : inputs)
    if (same_file(path, input))
      throw Error("fs.output.is_input", states_error::Runtime,
                  "the " + what + " is an input of this run (" + input.string() +
                      ", same file); refusing to replace it, even with --overwrite",
                  {{"file", path.string()}, {"input", input.string()}});
}

void check_output(const stdfs::path& path, const OutputRule& rule, const std::string& what) {
  if (path.empty()) throw output_error("fs.output.outside", "the " + what + " path is empty", path);
  if (path.is_relative()) {
    const stdfs::path normal = path.lexically_normal();
    if (!normal.empty() && *normal.begin() == "..")
      throw output_error("fs.output.outside",
                         "the " + what + " path leaves the working directory ('..'); give an absolute path "
                         "to write elsewhere",
                         path);
  }
  check_not_input(path, rule.inputs, what);
  std::error_code ec;
  const auto status = stdfs::symlink_status(path, ec);
  if (!stdfs::exists(status)) return;
  const auto target = stdfs::status(path, ec);
  if (stdfs::exists(target) && !stdfs::is_regular_file(target))
    throw output_error("fs.output.not_file", "the " + what + " exists and is not a regular file", path);
  if (!rule.overwrite)
    throw output_error("fs.output.exists", "the " + what + " exists; pass --overwrite to replace it", path);
}

void publish_file(const stdfs::path& from, const stdfs::path& to) {
  fsync_file(from);
  std::error_code ec;
  stdfs::rename(from, to, ec);
  if (ec)
    throw Error("fs.write", states_error::Runtime, "cannot move the new output into place: " + ec.message(),
                {{"file", to.string()}, {"temporary", from.string()}});
  sync_directory(directory_of(to));
}

OutputFile::OutputFile(stdfs::path path, OutputRule rule, std::string what)
    : m_path(std::move(path)), m_rule(std::move(rule)), m_what(std::move(what)) {
  check_output(m_path, m_rule, m_what);
  m_temporary = directory_of(m_path) / (m_path.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::error_code ec;
  stdfs::remove(m_temporary, ec);  // left by an earlier process with our pid
}

OutputFile::~OutputFile() {
  if (m_committed) return;
  std::error_code ec;
  stdfs::remove(m_temporary, ec);
}

void OutputFile::commit() {
  try {
    check_output(m_path, m_rule, m_what);
    publish_file(m_temporary, m_path);
  } catch (...) {
    std::error_code ec;
    stdfs::remove(m_temporary, ec);
    m_committed = true;
    throw;
  }
  m_committed = true;
}

void SyncBehind::behind() noexcept {
  {
    const std::lock_guard lock(m_mutex);
    if (m_stop) return;
    ++m_asked;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) return;
  try {
    m_thread = std::thread([this] { run(); });
  } catch (const std::system_error&) {  // no thread: the publishing fsync does it all
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
}

void SyncBehind::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [&] { return m_stop || m_asked > m_begun; });
    if (m_stop) return;
    m_begun = m_asked;
    lock.unlock();
    const int err = ::fdatasync(m_fd) == 0 ? 0 : errno;
    lock.lock();
    ++m_synced;
    if (err != 0 && m_error == 0) m_error = err;
  }
}

int SyncBehind::finish() noexcept {
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) m_thread.join();
  const std::lock_guard lock(m_mutex);
  return m_error;
}

std::int64_t SyncBehind::synced() const {
  const std::lock_guard lock(m_mutex);
  return m_synced;
}

}  // namespace beamflow::fs
