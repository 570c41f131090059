#include "jobs/transfer/transfer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "core/json_parse.hpp"
#include "jobs/transfer/errors.hpp"
#include "jobs/transfer/manifest.hpp"
#include "jobs/transfer/scan.hpp"
#include "platform/fs.hpp"

namespace beamflow::transfer {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Small files are read one after another, and a cold one costs a disk
// round trip each: the next kPrefetch files' reads are asked for ahead
// (Copier::prefetch) so that several are in flight.
constexpr std::size_t kPrefetch = 32;

// A rank's files in its two lanes (indices into `files`, in their order):
// those of one chunk or less, and those of several, which are copied on a
// thread of their own (run_transfer). On the bench VM the 2,000 small files
// took ~0.5-1 s before the 2 GiB file, waiting on per-file system calls, the
// batch syncs and their own cold reads more than on the disk's bandwidth,
// which the big file's copy uses: one after the other, their times added.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> lanes(const std::vector<const PlannedFile*>& files,
                                                                    std::uint64_t chunk_size) {
  std::vector<std::size_t> small, big;
  for (std::size_t i = 0; i < files.size(); ++i)
    (files[i]->decision != Decision::Skip && files[i]->identity.size > chunk_size ? big : small).push_back(i);
  return {std::move(small), std::move(big)};
}

double since(SteadyClock::time_point t) { return std::chrono::duration<double>(SteadyClock::now() - t).count(); }

// Removes `rel` (a file, or a folder and everything in it) beneath the root.
void remove_beneath(const Root& root, const std::string& rel, bool is_dir) {
  const auto [parent, name] = split_parent(rel);
  const Fd dir = root.open(parent, O_RDONLY | O_DIRECTORY);
  if (is_dir) {
    Fd fd = root.open(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    DIR* d = ::fdopendir(fd.release());
    if (!d) throw root.error(errno, "cannot list the folder", rel);
    std::vector<std::pair<std::string, bool>> children;
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") children.emplace_back(n, e->d_type == DT_DIR);
    }
    ::closedir(d);
    for (const auto& [n, sub] : children) remove_beneath(root, join(rel, n), sub);
  }
  if (::unlinkat(dir.get(), name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
    throw root.error(errno, "cannot delete", rel);
}

}  // namespace

TransferRequest load_request(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec))
    throw request_error("transfer.request.unreadable", "the request file cannot be read", {{"file", file.string()}});
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  // Depth-limited while parsing (core/json_parse.hpp): a 100,000-deep request is refused, not recursed into.
  const Json j = parse_json_as(text, file.string(), "transfer.request.invalid", asl::Request, "the request",
                               {{"file", file.string()}});
  try {
    return parse_request(j);
  } catch (Error& e) {
    e.with("file", file.string());
    throw;
  }
}

std::filesystem::path default_state_dir(const TransferRequest& request) {
  const char* home = std::getenv("BEAMFLOW_HOME");
  return std::filesystem::path(home && *home ? home : ".beamflow") / "transfers" / request.effective_id();
}

TransferSummary run_transfer(const TransferRequest& request, const Endpoints& endpoints, const parallel::Comm& comm,
                             const TransferOptions& options) {
  const auto start = SteadyClock::now();
  const Endpoint* source = nullptr;
  const Endpoint* destination = nullptr;
  std::optional<Root> src, dst;
  comm.agree([&] {
    source = &endpoints.get(request.source_endpoint);
    destination = &endpoints.get(request.destination_endpoint);
    if (!source->read)
      throw Error("transfer.endpoint.not_readable", asl::Permission, "the source endpoint does not allow reading",
                  {{"endpoint", source->name}});
    if (!destination->write)
      throw Error("transfer.endpoint.read_only", asl::Permission,
                  "the destination endpoint is read-only (\"write\": false): nothing is written to it",
                  {{"endpoint", destination->name}});
    src.emplace(*source, Side::Source);
    dst.emplace(*destination, Side::Destination);
  });

  // Rank 0 scans and plans; every rank receives the plan.
  std::optional<fs::FileLock> lock;
  std::string message;
  comm.agree([&] {
    if (!comm.is_root()) return;
    const Attempt attempt = Manifest::prepare(options.state_dir, request, *source, *destination);
    if (attempt.result) {
      message = "R" + attempt.result->dump();
      return;
    }
    lock = fs::FileLock::try_acquire(options.state_dir / "lock");
    if (!lock)
      throw Error("transfer.manifest.locked", asl::Manifest, "another process is running this transfer",
                  {{"state_dir", options.state_dir.string()}}, true);
    Plan plan = scan(request, *src, *dst, attempt.retry);
    for (const auto& d : plan.directories) dst->make_dirs(d);
    assign_ranks(plan.files, comm.size());
    message = "P" + Json{{"plan", plan.to_json()}, {"retry", attempt.retry}}.dump();
  });
  message = comm.broadcast(message);
  if (message[0] == 'R') return {parse_json(std::string_view(message).substr(1), "the transfer's result"), true};
  const Json planned = parse_json(std::string_view(message).substr(1), "the transfer plan");
  const Plan plan = Plan::from_json(planned["plan"]);
  const bool retry = planned["retry"].get<bool>();

  std::optional<Manifest> manifest;
  comm.agree([&] { manifest.emplace(options.state_dir, comm.rank()); });

  CopyOptions copy_options;
  copy_options.algorithm = request.checksum_algorithm;
  copy_options.verify = request.verify_checksum;
  copy_options.preserve_timestamp = request.preserve_timestamp;
  copy_options.chunk_size = request.chunk_size;
  copy_options.temp_tag = request.fingerprint().substr(0, 12);
  copy_options.at = options.at;

  Progress progress;
  for (const auto& f : plan.files)
    if (f.rank == comm.rank()) {
      ++progress.files_total;
      progress.bytes_total += f.identity.size;
    }
  // This rank's files in two lanes, each with its own Copier: files of
  // several chunks on a thread of their own, the rest on this one, so that
  // the small files' copies, batch syncs and renames run while a big file
  // waits on the disk instead of before it (lanes() above).
  std::vector<const PlannedFile*> files;
  for (const auto& f : plan.files)
    if (f.rank == comm.rank()) files.push_back(&f);
  const auto [small, big] = lanes(files, copy_options.chunk_size);
  std::vector<Json> outcomes(files.size());
  std::mutex progress_mutex;
  std::atomic<bool> stop{false};  // a lane failed: the other starts no further file
  auto run_lane = [&](const std::vector<std::size_t>& lane) {
    Copier copier(*src, *dst, *manifest, copy_options);
    std::size_t unflushed = 0, prefetched = 0;
    for (std::size_t i = 0; i < lane.size() && !stop; ++i) {
      const PlannedFile& f = *files[lane[i]];
      for (; prefetched < lane.size() && prefetched <= i + kPrefetch; ++prefetched) copier.prefetch(*files[lane[prefetched]]);
      outcomes[lane[i]] = copier.process(f).to_json();
      {
        const std::lock_guard lock(progress_mutex);
        ++progress.files_done;
        progress.bytes_done += f.identity.size;
        progress.seconds = since(start);
        if (options.progress) options.progress(progress);
      }
      if (++unflushed == 256) {
        copier.flush();
        unflushed = 0;
      }
    }
    copier.flush();
  };
  std::exception_ptr failure, big_failure;
  {
    std::jthread big_lane;
    if (!big.empty()) big_lane = std::jthread([&] {
        try {
          run_lane(big);
        } catch (...) {
          big_failure = std::current_exception();
          stop = true;
        }
      });
    try {
      run_lane(small);
    } catch (...) {
      failure = std::current_exception();
      stop = true;
    }
  }  // the big lane joined
  if (!failure) failure = big_failure;
  Json mine = Json::array();
  if (!failure)
    for (auto& o : outcomes) mine.push_back(std::move(o));
  comm.agree(failure);
  const std::vector<std::string> parts = comm.gather(mine.dump(), 0);

  Json summary{{"rank", comm.rank()}};
  comm.agree([&] {
    if (!comm.is_root()) return;
    Json deleted = Json::array();
    for (const auto& [rel, is_dir] : plan.extras) {
      remove_beneath(*dst, rel, is_dir);
      deleted.push_back(rel);
    }
    if (!plan.extras.empty()) fs::sync_directory(destination->root);
    std::uint64_t copied = 0, unchanged = 0, skipped_count = 0, bytes = 0, transferred = 0, resumed = 0,
                  repaired = 0, chunks = 0, read_direct = 0;
    Json checksums = Json::object(), skipped = Json::array();
    for (const auto& part : parts)
      for (const Json& o : parse_json(part, "a rank's outcomes")) {
        const FileOutcome out = FileOutcome::from_json(o);
        bytes += out.size;
        transferred += out.bytes_copied;
        chunks += out.chunks_copied;
        resumed += out.chunks_resumed;
        repaired += out.chunks_repaired;
        read_direct += out.read_direct ? 1 : 0;
        if (!out.checksum.empty()) checksums[out.destination] = out.checksum;
        if (out.action == "copied")
          ++copied;
        else if (out.action == "unchanged")
          ++unchanged;
        else {
          ++skipped_count;
          skipped.push_back({{"path", out.destination}, {"reason", out.reason}});
        }
      }
    for (const auto& [path, why] : plan.ignored) skipped.push_back({{"path", path}, {"reason", why}});
    const double seconds = since(start);
    summary = Json{{"submission_id", request.effective_id()},
                   {"status", "SUCCEEDED"},
                   {"source_endpoint", request.source_endpoint},
                   {"destination_endpoint", request.destination_endpoint},
                   {"ranks", comm.size()},
                   {"retry", retry},
                   {"files", plan.files.size()},
                   {"files_copied", copied},
                   {"files_unchanged", unchanged},
                   {"files_skipped", skipped_count},
                   {"bytes", bytes},
                   {"bytes_transferred", transferred},
                   {"chunks_copied", chunks},
                   {"chunks_resumed", resumed},
                   {"chunks_repaired", repaired},
                   {"files_read_direct", read_direct},
                   {"checksum_algorithm", to_string(request.checksum_algorithm)},
                   {"verified", request.verify_checksum},
                   {"checksums", checksums},
                   {"skipped", skipped},
                   {"deleted", deleted},
                   {"seconds", seconds},
                   {"throughput_mb_s", seconds > 0 ? static_cast<double>(transferred) / seconds / 1e6 : 0.0}};
    Manifest::save_result(options.state_dir, summary);
  });
  return {summary, false};
}

}  // namespace beamflow::transfer
