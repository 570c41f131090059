#include "jobs/transfer/scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "jobs/transfer/errors.hpp"

namespace beamflow::transfer {

namespace {

struct Entry {
  std::string name;
  unsigned char type;
};

// The names in folder `rel` beneath `root`, sorted.
std::vector<Entry> list_dir(const Root& root, const std::string& rel) {
  Fd fd = root.open(rel, O_RDONLY | O_DIRECTORY);
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) throw root.error(errno, "cannot list the folder", rel);
  fd.release();
  std::vector<Entry> out;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back({name, e->d_type});
    errno = 0;
  }
  const int err = errno;
  ::closedir(dir);
  if (err) throw root.error(err, "cannot list the folder", rel);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

class Scanner {
 public:
  Scanner(const TransferRequest& request, const Root& source, const Root& destination, bool retry)
      : m_request(request), m_src(source), m_dst(destination), m_retry(retry) {}

  Plan run() {
    for (const auto& item : m_request.items) {
      Fd fd = m_src.open(item.source_path, O_RDONLY | O_NONBLOCK);
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) throw m_src.error(errno, "cannot stat", item.source_path);
      if (S_ISDIR(st.st_mode)) {
        if (!item.recursive)
          throw Error("transfer.source.kind", asl::Source,
                      "the source is a folder: set \"recursive\": true to copy it",
                      {{"endpoint", m_src.name()}, {"path", item.source_path}});
        add_dir(item.destination_path);
        walk(item.source_path, item.destination_path);
        if (m_request.delete_destination_extra) find_extras(item.destination_path);
      } else if (S_ISREG(st.st_mode)) {
        if (item.recursive)
          throw Error("transfer.source.kind", asl::Source,
                      "the source is a file: \"recursive\" is for folders",
                      {{"endpoint", m_src.name()}, {"path", item.source_path}});
        add_dir(split_parent(item.destination_path).first);
        add_file(item.source_path, item.destination_path, st);
      } else {
        throw Error("transfer.source.kind", asl::Source, "the source is neither a file nor a folder",
                    {{"endpoint", m_src.name()}, {"path", item.source_path}});
      }
    }
    return std::move(m_plan);
  }

 private:
  void add_dir(const std::string& rel) {
    if (rel.empty() || !m_dirs.insert(rel).second) return;
    add_dir(split_parent(rel).first);
    m_plan.directories.push_back(rel);
  }

  void add_file(const std::string& src, const std::string& dst, const struct stat& st) {
    if (!m_dest_files.insert(dst).second)
      throw request_error("transfer.request.invalid", "two items write the same destination file",
                          {{"path", dst}});
    PlannedFile f;
    f.source = src;
    f.destination = dst;
    f.identity = identity_of(st);
    f.mode = st.st_mode & 0777;
    f.atime_ns = nanoseconds(st.st_atim);
    const Decided d = decide(f, dest_info(dst), m_request.sync_level, m_retry);
    f.decision = d.decision;
    f.reason = d.reason;
    m_plan.files.push_back(std::move(f));
  }

  DestInfo dest_info(const std::string& rel) {
    const int fd = m_dst.open_at(rel, O_PATH | O_NOFOLLOW);
    if (fd == -ENOENT) return {};
    if (fd < 0) throw m_dst.error(-fd, "cannot look at the destination", rel);
    struct stat st {};
    const int rc = ::fstat(fd, &st);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw m_dst.error(err, "cannot stat the destination", rel);
    DestInfo d;
    d.exists = true;
    d.is_dir = S_ISDIR(st.st_mode);
    d.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : ~std::uint64_t{0};
    d.mtime_ns = nanoseconds(st.st_mtim);
    return d;
  }

  void walk(const std::string& src_dir, const std::string& dst_dir) {
    for (const Entry& e : list_dir(m_src, src_dir)) {
      const std::string src = join(src_dir, e.name), dst = join(dst_dir, e.name);
      // Look at the entry itself first, then (for symlinks) where it leads:
      // open_at refuses a target outside the root with EXDEV.
      struct stat st {};
      {
        const Fd parent = m_src.open(src_dir, O_RDONLY | O_DIRECTORY);
        if (::fstatat(parent.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
          throw m_src.error(errno, "cannot stat", src);
      }
      const bool link = S_ISLNK(st.st_mode);
      if (link) {
        Fd fd = m_src.open(src, O_RDONLY | O_NONBLOCK);  // throws transfer.path.escapes for a link leading out
        if (::fstat(fd.get(), &st) != 0) throw m_src.error(errno, "cannot stat", src);
      }
      if (S_ISDIR(st.st_mode)) {
        if (!m_request.included(e.name, true)) continue;
        if (link) {
          m_plan.ignored.emplace_back(src, "symlink to a folder: not followed");
          continue;
        }
        add_dir(dst);
        walk(src, dst);
      } else if (S_ISREG(st.st_mode)) {
        if (m_request.included(e.name, false)) add_file(src, dst, st);
      } else {
        m_plan.ignored.emplace_back(src, "not a regular file or folder");
      }
    }
  }

  void find_extras(const std::string& dst_dir) {
    const int probe = m_dst.open_at(dst_dir, O_RDONLY | O_DIRECTORY);
    if (probe == -ENOENT) return;
    if (probe < 0) throw m_dst.error(-probe, "cannot list the folder", dst_dir);
    ::close(probe);
    for (const Entry& e : list_dir(m_dst, dst_dir)) {
      const std::string rel = join(dst_dir, e.name);
      const bool is_dir = e.type == DT_DIR;
      if (!m_request.included(e.name, is_dir)) continue;
      if (is_dir) {
        if (m_dirs.count(rel))
          find_extras(rel);
        else
          m_plan.extras.emplace_back(rel, true);
      } else if (!m_dest_files.count(rel) && e.name.find(".bf-") == std::string::npos) {
        m_plan.extras.emplace_back(rel, false);
      }
    }
  }

  const TransferRequest& m_request;
  const Root& m_src;
  const Root& m_dst;
  bool m_retry;
  Plan m_plan;
  std::set<std::string> m_dirs, m_dest_files;
};

}  // namespace

Plan scan(const TransferRequest& request, const Root& source, const Root& destination, bool retry) {
  return Scanner(request, source, destination, retry).run();
}

Json Plan::to_json() const {
  Json f = Json::array();
  for (const auto& p : files) f.push_back(p.to_json());
  Json ig = Json::array();
  for (const auto& [p, why] : ignored) ig.push_back({p, why});
  Json ex = Json::array();
  for (const auto& [p, dir] : extras) ex.push_back({p, dir});
  return Json{{"files", f}, {"dirs", directories}, {"ignored", ig}, {"extras", ex}};
}

Plan Plan::from_json(const Json& j) {
  Plan p;
  for (const auto& f : j.at("files")) p.files.push_back(PlannedFile::from_json(f));
  p.directories = j.at("dirs").get<std::vector<std::string>>();
  for (const auto& i : j.at("ignored")) p.ignored.emplace_back(i.at(0).get<std::string>(), i.at(1).get<std::string>());
  for (const auto& e : j.at("extras")) p.extras.emplace_back(e.at(0).get<std::string>(), e.at(1).get<bool>());
  return p;
}

}  // namespace beamflow::transfer
