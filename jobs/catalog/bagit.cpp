#include "jobs/catalog/bagit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "core/hash.hpp"
#include "core/time.hpp"
#include "jobs/catalog/errors.hpp"
#include "platform/checksum.hpp"
#include "platform/fs.hpp"
#include "platform/posix_file.hpp"

namespace beamflow::catalog {
namespace stdfs = std::filesystem;
using beamflow::fs::detail::UniqueFd;

namespace {

[[noreturn]] void storage_error(const std::string& what, const stdfs::path& file, int err) {
  fail("dataset.storage", what + (err ? std::string(": ") + std::strerror(err) : ""), {{"file", file.string()}},
       err == ENOSPC || err == EIO || err == EAGAIN);
}
// The source is the caller's to fix: an input error, not a storage one.
[[noreturn]] void source_error(const std::string& what, const stdfs::path& file, int err = 0) {
  throw Error("dataset.source", kInvalidInput, what + (err ? std::string(": ") + std::strerror(err) : ""),
              {{"file", file.string()}});
}

struct EvpDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string hex(const unsigned char* d, unsigned n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) s += {k[d[i] >> 4], k[d[i] & 15]};
  return s;
}

// Reads one file once, hashing its bytes; with a destination, also writes
// them there and fsyncs the copy (without one, the file is only hashed:
// a bag published in place).
ManifestEntry hash_file(const stdfs::path& from, const stdfs::path& to, const std::string& rel) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) source_error("cannot open", from, errno);
  UniqueFd out;
  if (!to.empty()) {
    out = UniqueFd(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) storage_error("cannot create", to, errno);
  }
  std::unique_ptr<EVP_MD_CTX, EvpDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) storage_error("sha256 init failed", to, 0);
  std::vector<char> buf(1 << 20);
  ManifestEntry e{rel, 0, {}};
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) source_error("read failed", from, errno);
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    if (out)
      if (int err = beamflow::fs::detail::write_all(out.get(), buf.data(), static_cast<std::size_t>(n)))
        storage_error("write failed", to, err);
    e.size += static_cast<std::uint64_t>(n);
  }
  if (out) {
    if (::fsync(out.get()) != 0) storage_error("fsync failed", to, errno);
    if (int err = out.close()) storage_error("close failed", to, err);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  e.sha256 = hex(md, len);
  return e;
}

void write_durable(const stdfs::path& file, const std::string& text) {
  UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) storage_error("cannot create", file, errno);
  if (int err = beamflow::fs::detail::write_all(out.get(), text.data(), text.size()))
    storage_error("write failed", file, err);
  if (::fsync(out.get()) != 0) storage_error("fsync failed", file, errno);
  if (int err = out.close()) storage_error("close failed", file, err);
}

void sync_dir(const stdfs::path& dir) {
  if (int err = beamflow::fs::detail::fsync_directory(dir)) storage_error("directory fsync failed", dir, err);
}

void make_dir(const stdfs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) storage_error("cannot create directory", dir, errno);
}

// Every regular file below `root` (relative paths, sorted). Symlinks and
// special files are refused: a bag must hold the bytes it lists.
std::vector<stdfs::path> payload_files(const stdfs::path& root) {
  std::vector<stdfs::path> files;
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (stdfs::is_symlink(status)) source_error("is a symbolic link (publish the file it points to)", it->path());
    if (stdfs::is_directory(status)) continue;
    if (!stdfs::is_regular_file(status)) source_error("is not a regular file", it->path());
    files.push_back(stdfs::relative(it->path(), root));
  }
  if (ec) source_error("cannot list", root, ec.value());
  std::sort(files.begin(), files.end());
  return files;
}

std::string manifest_text(const std::vector<ManifestEntry>& files) {
  std::string s;
  for (const auto& f : files) s += f.sha256 + "  " + encode_manifest_path(f.path) + "\n";
  return s;
}

std::map<std::string, std::string> parse_manifest(const std::string& text, const std::string& name,
                                                  std::vector<BagProblem>* problems) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto sp = line.find_first_of(" \t");
    const auto start = sp == std::string::npos ? sp : line.find_first_not_of(" \t", sp);
    if (sp != 64 || start == std::string::npos) {
      if (problems) problems->push_back({name, "line " + std::to_string(n) + " is not 'SHA256  PATH'"});
      else fail("dataset.verify.failed", name + ": line " + std::to_string(n) + " is not 'SHA256  PATH'");
      continue;
    }
    out[decode_manifest_path(line.substr(start))] = line.substr(0, 64);
  }
  return out;
}

}  // namespace

std::string encode_manifest_path(const std::string& path) {
  std::string s;
  for (char c : path) s += c == '%' ? "%25" : c == '\r' ? "%0D" : c == '\n' ? "%0A" : std::string(1, c);
  return s;
}

std::string decode_manifest_path(const std::string& path) {
  std::string s;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      const std::string code = path.substr(i + 1, 2);
      if (code == "25") { s += '%'; i += 2; continue; }
      if (code == "0D" || code == "0d") { s += '\r'; i += 2; continue; }
      if (code == "0A" || code == "0a") { s += '\n'; i += 2; continue; }
    }
    s += path[i];
  }
  return s;
}

namespace {

// file:// URL of an absolute path: every byte outside the unreserved set
// and '/' percent-encoded (RFC 3986), so a space or newline stays one field
// of a fetch.txt line.
std::string file_url(const stdfs::path& p) {
  static const char* k = "0123456789ABCDEF";
  std::string s = "file://";
  for (unsigned char c : p.string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') s += static_cast<char>(c);
    else s += {'%', k[c >> 4], k[c & 15]};
  }
  return s;
}

// The path of a file:// URL (empty for another scheme or a bad escape).
std::string url_path(const std::string& url) {
  if (url.rfind("file://", 0) != 0) return {};
  std::string s;
  for (std::size_t i = 7; i < url.size(); ++i) {
    if (url[i] != '%') {
      s += url[i];
      continue;
    }
    if (i + 2 >= url.size() || !std::isxdigit(static_cast<unsigned char>(url[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(url[i + 2])))
      return {};
    s += static_cast<char>(std::stoi(url.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return s;
}

// fetch.txt (RFC 8493 section 2.2.3): "URL LENGTH PATH" per line; the
// payload path -> the local file the URL names. Lines that are not file://
// URLs are reported (beamflow writes only those).
std::map<std::string, stdfs::path> parse_fetch(const std::string& text, std::vector<BagProblem>& problems) {
  std::map<std::string, stdfs::path> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string url, length, path;
    fields >> url >> length;
    std::getline(fields >> std::ws, path);
    const std::string local = url_path(url);
    if (local.empty() || path.empty()) {
      problems.push_back({"fetch.txt", "line " + std::to_string(n) + " is not 'file://PATH LENGTH PATH'"});
      continue;
    }
    out[decode_manifest_path(path)] = local;
  }
  return out;
}

// What write_bag and write_bag_in_place share: the payload listing, the
// hashing (with or without a copy) and the tag files.
Manifest make_bag(const stdfs::path& source, const stdfs::path& bag,
                  std::vector<std::pair<std::string, std::string>> bag_info,
                  const std::function<void(const ManifestEntry&)>& after_file, bool in_place) {
  std::error_code ec;
  const auto status = stdfs::symlink_status(source, ec);
  if (ec || !stdfs::exists(status)) source_error("does not exist", source);
  std::vector<std::pair<stdfs::path, std::string>> todo;  // source file, path in the bag
  if (stdfs::is_regular_file(status)) {
    todo.emplace_back(source, "data/" + source.filename().string());
  } else if (stdfs::is_directory(status)) {
    for (const auto& rel : payload_files(source)) todo.emplace_back(source / rel, "data/" + rel.generic_string());
  } else {
    source_error("is neither a regular file nor a directory", source);
  }
  if (todo.empty()) source_error("holds no files to publish", source);
  if (::mkdir(bag.c_str(), 0755) != 0) storage_error("cannot create the bag directory", bag, errno);
  const stdfs::path data = bag / "data";
  if (!in_place) make_dir(data);
  Manifest m;
  std::set<stdfs::path> dirs{data};
  std::string fetch;
  for (const auto& [from, rel] : todo) {
    stdfs::path to;
    if (!in_place) {
      to = bag / rel;
      for (stdfs::path d = to.parent_path(); d != data && !dirs.count(d); d = d.parent_path()) dirs.insert(d);
      stdfs::create_directories(to.parent_path(), ec);
      if (ec) storage_error("cannot create directory", to.parent_path(), ec.value());
    }
    m.files.push_back(hash_file(from, to, rel));
    m.bytes += m.files.back().size;
    if (in_place)
      fetch += file_url(from) + " " + std::to_string(m.files.back().size) + " " + encode_manifest_path(rel) + "\n";
    if (after_file) after_file(m.files.back());
  }
  // Deepest first, so each directory's entries are durable before its parent's.
  if (!in_place)
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) sync_dir(*it);
  // A directory published in place: verify also reports files added to it since.
  if (in_place && stdfs::is_directory(status)) bag_info.emplace_back(kSourceDirectoryTag, encode_manifest_path(source.string()));

  const std::string manifest = manifest_text(m.files);
  m.digest = sha256_hex(manifest);
  std::string info;
  for (const auto& [k, v] : bag_info) info += k + ": " + v + "\n";
  info += "Bagging-Date: " + format_time_ms(now_ms()).substr(0, 10) + "\n";
  info += "Payload-Oxum: " + std::to_string(m.bytes) + "." + std::to_string(m.files.size()) + "\n";
  const std::string bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
  write_durable(bag / "bagit.txt", bagit);
  write_durable(bag / "bag-info.txt", info);
  write_durable(bag / "manifest-sha256.txt", manifest);
  std::vector<ManifestEntry> tags = {{"bag-info.txt", info.size(), sha256_hex(info)},
                                     {"bagit.txt", bagit.size(), sha256_hex(bagit)}};
  if (in_place) {
    write_durable(bag / "fetch.txt", fetch);
    tags.push_back({"fetch.txt", fetch.size(), sha256_hex(fetch)});
  }
  tags.push_back({"manifest-sha256.txt", manifest.size(), m.digest});
  write_durable(bag / "tagmanifest-sha256.txt", manifest_text(tags));
  sync_dir(bag);
  return m;
}

}  // namespace

Manifest write_bag(const stdfs::path& source, const stdfs::path& bag,
                   const std::vector<std::pair<std::string, std::string>>& bag_info,
                   const std::function<void(const ManifestEntry&)>& after_file) {
  return make_bag(source, bag, bag_info, after_file, false);
}

Manifest write_bag_in_place(const stdfs::path& source, const stdfs::path& bag,
                            const std::vector<std::pair<std::string, std::string>>& bag_info,
                            const std::function<void(const ManifestEntry&)>& after_file) {
  if (!source.is_absolute()) source_error("must be an absolute path to be published in place", source);
  return make_bag(source, bag, bag_info, after_file, true);
}

Manifest read_manifest(const stdfs::path& bag) {
  const stdfs::path file = bag / "manifest-sha256.txt";
  std::string text;
  try {
    text = beamflow::fs::read_file(file);
  } catch (const Error&) {
    fail("dataset.verify.failed", "manifest-sha256.txt is missing or unreadable", {{"file", file.string()}});
  }
  Manifest m;
  m.digest = sha256_hex(text);
  for (const auto& [path, sha] : parse_manifest(text, "manifest-sha256.txt", nullptr)) {
    std::error_code ec;
    const auto size = stdfs::file_size(bag / path, ec);
    m.files.push_back({path, ec ? 0 : size, sha});
    m.bytes += ec ? 0 : size;
  }
  return m;
}

std::vector<BagProblem> verify_bag(const stdfs::path& bag, const std::string& expected_digest) {
  std::vector<BagProblem> problems;
  auto read = [&](const std::string& name, std::string& out) {
    try {
      out = beamflow::fs::read_file(bag / name);
      return true;
    } catch (const Error&) {
      problems.push_back({name, "missing or unreadable"});
      return false;
    }
  };
  std::string bagit, manifest_txt, tagmanifest_txt, info;
  if (read("bagit.txt", bagit) && bagit.rfind("BagIt-Version: ", 0) != 0)
    problems.push_back({"bagit.txt", "not a BagIt declaration"});
  read("bag-info.txt", info);
  if (!read("manifest-sha256.txt", manifest_txt)) return problems;
  if (!expected_digest.empty() && sha256_hex(manifest_txt) != expected_digest)
    problems.push_back({"manifest-sha256.txt", "differs from the manifest recorded in the catalog"});
  if (read("tagmanifest-sha256.txt", tagmanifest_txt))
    for (const auto& [path, sha] : parse_manifest(tagmanifest_txt, "tagmanifest-sha256.txt", &problems)) {
      std::error_code ec;
      if (!stdfs::is_regular_file(bag / path, ec)) continue;  // reported above
      if (platform::sha256_file(bag / path) != sha) problems.push_back({path, "sha256 mismatch (tag file changed)"});
    }
  const auto listed = parse_manifest(manifest_txt, "manifest-sha256.txt", &problems);
  // A bag published in place: its payload is where fetch.txt says.
  std::map<std::string, stdfs::path> fetched;
  std::error_code ec;
  if (stdfs::exists(bag / "fetch.txt", ec)) {
    std::string fetch_txt;
    if (read("fetch.txt", fetch_txt)) fetched = parse_fetch(fetch_txt, problems);
  }
  std::uint64_t bytes = 0;
  for (const auto& [path, sha] : listed) {
    const auto remote = fetched.find(path);
    const stdfs::path file = remote != fetched.end() ? remote->second : bag / path;
    std::error_code ec;
    const auto st = stdfs::symlink_status(file, ec);
    if (ec || !stdfs::is_regular_file(st)) {
      problems.push_back({path, "missing"});
      continue;
    }
    bytes += stdfs::file_size(file, ec);
    std::string actual;
    try {
      actual = platform::sha256_file(file);
    } catch (const Error& e) {
      problems.push_back({path, std::string("unreadable: ") + e.message()});
      continue;
    }
    if (actual != sha) problems.push_back({path, "sha256 mismatch: manifest " + sha + ", file " + actual});
  }
  if (stdfs::is_directory(bag / "data", ec))
    for (const auto& rel : payload_files(bag / "data"))
      if (!listed.count("data/" + rel.generic_string()))
        problems.push_back({"data/" + rel.generic_string(), "not in the manifest"});
  // A directory published in place: files added to it since are not in the manifest.
  const std::string tag = std::string(kSourceDirectoryTag) + ": ";
  if (const auto at = info.find(tag); at != std::string::npos && (at == 0 || info[at - 1] == '\n')) {
    const stdfs::path root = decode_manifest_path(info.substr(at + tag.size(), info.find('\n', at) - at - tag.size()));
    if (!stdfs::is_directory(root, ec)) {
      problems.push_back({root.string(), "the directory published in place is missing"});
    } else {
      try {
        for (const auto& rel : payload_files(root))
          if (!listed.count("data/" + rel.generic_string()))
            problems.push_back({"data/" + rel.generic_string(), "not in the manifest (added to " + root.string() + ")"});
      } catch (const Error& e) {
        problems.push_back({root.string(), e.message()});
      }
    }
  }
  // Payload-Oxum: OCTETS.COUNT of the payload, a cheap whole-bag check.
  if (const auto at = info.find("Payload-Oxum: "); at != std::string::npos) {
    const std::string oxum = info.substr(at + 14, info.find('\n', at) - at - 14);
    const std::string actual = std::to_string(bytes) + "." + std::to_string(listed.size());
    if (oxum != actual) problems.push_back({"bag-info.txt", "Payload-Oxum " + oxum + " but the payload is " + actual});
  }
  return problems;
}

}  // namespace beamflow::catalog
