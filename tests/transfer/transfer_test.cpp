// Transfers on real files, one rank: trees, checksums equal to sha256sum's,
// sync levels, retries compared by checksum, filters, deletes, and every
// bad input a clear error with nothing written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fixture.hpp"
#include "jobs/transfer/copier.hpp"
#include "platform/fs.hpp"

namespace beamflow::transfer::testing {
namespace {

using test::expect_error;

// Drops a file's pages from the page cache (written out first, so they are
// clean and can go); returns whether its file system does direct I/O.
bool evict(const stdfs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << p;
  struct statx sx {};
  const bool direct_io = ::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
                         (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0;
  EXPECT_EQ(::fsync(fd), 0);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  return direct_io;
}

// Whether any page of the file is in the page cache (mincore; nothing read).
bool resident(const stdfs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  const auto size = static_cast<std::size_t>(stdfs::file_size(p));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return false;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  const bool any = ::mincore(map, size, pages.data()) == 0 &&
                   std::any_of(pages.begin(), pages.end(), [](unsigned char r) { return r & 1; });
  ::munmap(map, size);
  return any;
}

TEST_F(TransferTest, CopiesATreeWithChecksumsEqualToSha256sum) {
  put(src / "scan/a.h5", bytes(300'000, 1));
  put(src / "scan/sub/b.dat", bytes(5, 2));
  put(src / "scan/sub/empty", "");
  stdfs::create_directories(src / "scan/emptydir");
  const Json out = run(request(Json::array({item("scan", "in/scan", true)}),
                               {{"checksum_algorithm", "sha256"}, {"chunk_size", 65536}}));
  EXPECT_EQ(out["status"], "SUCCEEDED");
  EXPECT_EQ(out["files"], 3);
  EXPECT_EQ(out["files_copied"], 3);
  EXPECT_EQ(out["bytes_transferred"], 300'005);
  EXPECT_EQ(out["chunks_copied"], 5 + 1 + 1);
  for (const char* f : {"a.h5", "sub/b.dat", "sub/empty"}) {
    const auto d = dst / "in/scan" / f;
    EXPECT_EQ(slurp(d), slurp(src / "scan" / f)) << f;
    const std::string expected = "sha256:" + shell("sha256sum " + d.string()).substr(0, 64);
    EXPECT_EQ(out["checksums"][std::string("in/scan/") + f], expected) << f;
  }
  EXPECT_TRUE(stdfs::is_directory(dst / "in/scan/emptydir"));
  // No temporary file is left.
  for (const auto& p : tree(dst)) EXPECT_EQ(p.find(".bf-"), std::string::npos) << p;
  // The default checksum is xxh128, as xxhsum -H2 prints it.
  const Json x = run(request(Json::array({item("scan/a.h5", "x.h5")})), state / "x");
  EXPECT_EQ(x["checksums"]["x.h5"], "xxh128:" + shell("xxhsum -H2 " + (dst / "x.h5").string()).substr(0, 32));
}

// More small files than one batch (64): every one arrives whole, with its
// mode and times, no temporary file is left, and every one is recorded as
// complete in the manifest (what a retry trusts).
TEST_F(TransferTest, SmallFilesInSeveralBatchesAllArriveAndAreRecorded) {
  constexpr int kFiles = 150;
  for (int i = 0; i < kFiles; ++i) {
    const auto p = src / "t" / ("d" + std::to_string(i % 3)) / ("f" + std::to_string(i));
    put(p, bytes(1000 + 37 * static_cast<std::size_t>(i), static_cast<unsigned>(i)));
    ::chmod(p.c_str(), i % 2 ? 0640 : 0604);
    const timespec times[2] = {{1'600'000'000 + i, 0}, {1'500'000'000 + i, 123}};
    ::utimensat(AT_FDCWD, p.c_str(), times, 0);
  }
  const Json out = run(request(Json::array({item("t", "in", true)}), {{"preserve_timestamp", true}}));
  EXPECT_EQ(out["files_copied"], kFiles);
  EXPECT_EQ(out["chunks_copied"], kFiles);
  for (int i = 0; i < kFiles; ++i) {
    const std::string rel = "d" + std::to_string(i % 3) + "/f" + std::to_string(i);
    const auto d = dst / "in" / rel;
    ASSERT_EQ(slurp(d), slurp(src / "t" / rel)) << rel;
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, i % 2 ? 0640u : 0604u) << rel;
    EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000 + i) << rel;
    EXPECT_EQ(st.st_mtim.tv_nsec, 123) << rel;
  }
  for (const auto& p : tree(dst)) EXPECT_EQ(p.find(".bf-"), std::string::npos) << p;
  const std::string journal = slurp(state / "journal-r0.log");
  std::size_t complete = 0;
  for (auto at = journal.find("\"t\":\"f\""); at != std::string::npos; at = journal.find("\"t\":\"f\"", at + 1))
    ++complete;
  EXPECT_EQ(complete, static_cast<std::size_t>(kFiles));
}

TEST_F(TransferTest, AFinishedSubmissionReturnsItsRecordedSummary) {
  put(src / "f", "one");
  const Json r = request(Json::array({item("f", "f")}), {{"submission_id", "s1"}});
  const Json first = run(r);
  put(src / "f", "two, longer");
  const Json again = run(r);
  EXPECT_EQ(again, first);
  EXPECT_EQ(slurp(dst / "f"), "one");
  // The same id for another request is refused.
  expect_error([&] { run(request(Json::array({item("f", "g")}), {{"submission_id", "s1"}})); },
               "transfer.manifest.other_request", {"s1"});
}

TEST_F(TransferTest, SyncLevelsAndPreservedTimes) {
  put(src / "d/same", "abc");
  put(src / "d/grown", "abcdef");
  put(src / "d/new", "n");
  put(dst / "d/same", "xyz");
  put(dst / "d/grown", "abc");
  const auto base = R"({"recursive": true})";
  (void)base;
  Json out = run(request(Json::array({item("d", "d", true)}), {{"sync_level", "size"}}), state / "1");
  EXPECT_EQ(out["files_copied"], 2);
  EXPECT_EQ(out["files_skipped"], 1);
  EXPECT_EQ(out["skipped"][0]["path"], "d/same");
  EXPECT_EQ(slurp(dst / "d/same"), "xyz");
  EXPECT_EQ(slurp(dst / "d/grown"), "abcdef");
  // checksum finds the different bytes of the same size.
  out = run(request(Json::array({item("d", "d", true)}), {{"sync_level", "checksum"}, {"preserve_timestamp", true}}),
            state / "2");
  EXPECT_EQ(out["files_copied"], 1);
  EXPECT_EQ(out["files_unchanged"], 2);
  EXPECT_EQ(slurp(dst / "d/same"), "abc");
  struct stat a {}, b {};
  ::stat((src / "d/same").c_str(), &a);
  ::stat((dst / "d/same").c_str(), &b);
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
  EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
  // mtime: same size and not older is skipped.
  out = run(request(Json::array({item("d", "d", true)}), {{"sync_level", "mtime"}}), state / "3");
  EXPECT_EQ(out["files_copied"], 0);
  EXPECT_EQ(out["files_skipped"], 3);
}

TEST_F(TransferTest, ARetryComparesByChecksumWhateverTheSyncLevel) {
  put(src / "d/a", "aaaa");
  put(src / "d/b", "bbbb");
  put(dst / "d/b", "BBBB");  // same size, wrong bytes
  stdfs::create_directories(dst / "d/c");
  put(src / "d/c", "c");  // a folder stands in the way: the first attempt fails
  const Json r = request(Json::array({item("d", "d", true)}), {{"sync_level", "exists"}});
  expect_error([&] { run(r); }, "transfer.destination.conflict");
  stdfs::remove(dst / "d/c");
  const Json out = run(r);
  EXPECT_TRUE(out["retry"].get<bool>());
  EXPECT_EQ(slurp(dst / "d/b"), "bbbb") << "exists would have kept the wrong bytes";
  EXPECT_EQ(out["files_copied"], 3);
}

TEST_F(TransferTest, FlippedByteInACompletedFileIsFoundAndRepaired) {
  put(src / "big", bytes(200'000, 7));
  run(request(Json::array({item("big", "big")}), {{"chunk_size", 16384}}), state / "1");
  {
    std::fstream f(dst / "big", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(123'456);
    f.put('\xff' ^ bytes(200'000, 7)[123'456]);
  }
  ASSERT_NE(slurp(dst / "big"), slurp(src / "big"));
  const Json out = run(request(Json::array({item("big", "big")}), {{"chunk_size", 16384}, {"sync_level", "checksum"}}),
                       state / "2");
  EXPECT_EQ(out["files_copied"], 1);
  EXPECT_EQ(slurp(dst / "big"), slurp(src / "big"));
}

// A file of several pieces that is not in the page cache is read with
// O_DIRECT (whole blocks, its short last one included) and arrives whole,
// with sha256sum's checksum; one in the page cache is read through it.
TEST_F(TransferTest, ASourceOutOfThePageCacheIsReadDirectAndArrivesWhole) {
  const std::string content = bytes((std::size_t{3} << 20) + 1234, 9);
  put(src / "big", content);
  if (!evict(src / "big")) GTEST_SKIP() << src << " does no direct I/O (statx STATX_DIOALIGN)";
  const Json cold = run(request(Json::array({item("big", "cold")}),
                                {{"checksum_algorithm", "sha256"}, {"chunk_size", 1 << 20}}),
                        state / "1");
  EXPECT_EQ(cold["files_read_direct"], 1);
  EXPECT_EQ(cold["chunks_copied"], 4);
  EXPECT_EQ(slurp(dst / "cold"), content);
  EXPECT_EQ(cold["checksums"]["cold"], "sha256:" + shell("sha256sum " + (src / "big").string()).substr(0, 64));
  ASSERT_EQ(slurp(src / "big"), content);  // in the page cache now
  const Json warm = run(request(Json::array({item("big", "warm")}), {{"chunk_size", 1 << 20}}), state / "2");
  EXPECT_EQ(warm["files_read_direct"], 0);
  EXPECT_EQ(slurp(dst / "warm"), content);
}

// Copier::prefetch starts reading a small file (one piece at most) into
// the page cache; a bigger one, which may be read with O_DIRECT, and a
// skipped one are left alone.
TEST_F(TransferTest, PrefetchStartsReadingASmallSourceOnly) {
  put(src / "small", bytes(100'000, 4));
  put(src / "big", bytes(std::size_t{1} << 20, 5));
  put(src / "skipped", bytes(1'000, 6));
  for (const char* f : {"small", "big", "skipped"}) {
    evict(src / f);
    if (resident(src / f)) GTEST_SKIP() << "cannot drop " << f << " from the page cache here";
  }
  const Root source(endpoints.get("beamline"), Side::Source), destination(endpoints.get("compute"), Side::Destination);
  stdfs::create_directories(state);
  Manifest manifest(state, 0);
  const Copier copier(source, destination, manifest, CopyOptions{});
  auto planned = [](const std::string& name, std::uint64_t size, Decision decision) {
    PlannedFile f;
    f.source = f.destination = name;
    f.identity.size = size;
    f.decision = decision;
    return f;
  };
  copier.prefetch(planned("big", std::uint64_t{1} << 20, Decision::Copy));
  copier.prefetch(planned("skipped", 1'000, Decision::Skip));
  copier.prefetch(planned("missing", 10, Decision::Copy));  // reported by process(), not here
  copier.prefetch(planned("small", 100'000, Decision::Copy));
  // mincore counts a page once its read is done: the reads were only started.
  for (int i = 0; i < 1000 && !resident(src / "small"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(resident(src / "small"));
  EXPECT_FALSE(resident(src / "big")) << "asked for before the small file, so it would be in by now";
  EXPECT_FALSE(resident(src / "skipped"));
}

// A temporary file left by an earlier attempt the manifest knows nothing
// of (killed before its first record), longer than the source, is reused
// (Copier::copy opens it again, not created): the copy arrives whole, with
// nothing of the leftover after it, whether one piece or several.
TEST_F(TransferTest, ALongerLeftoverTemporaryFileIsReplacedByTheWholeCopy) {
  const std::string small = bytes(10'000, 7), big = bytes((std::size_t{1} << 20) + 5, 8);
  put(src / "small", small);
  put(src / "big", big);
  const Root source(endpoints.get("beamline"), Side::Source), destination(endpoints.get("compute"), Side::Destination);
  stdfs::create_directories(state);
  Manifest manifest(state, 0);
  CopyOptions options;
  options.chunk_size = 256 << 10;
  Copier copier(source, destination, manifest, options);
  for (const auto& [name, content] : {std::pair{"small", small}, std::pair{"big", big}}) {
    put(dst / copier.temp_name(name), content + bytes(300'000, 9));
    struct stat st {};
    ASSERT_EQ(::stat((src / name).c_str(), &st), 0);
    PlannedFile f;
    f.source = f.destination = name;
    f.identity = identity_of(st);
    EXPECT_EQ(copier.process(f).action, "copied") << name;
  }
  copier.flush();
  EXPECT_EQ(slurp(dst / "small"), small);
  EXPECT_EQ(slurp(dst / "big"), big);
  for (const auto& p : tree(dst)) EXPECT_EQ(p.find(".bf-"), std::string::npos) << p;
}

TEST_F(TransferTest, FiltersAndDeletingExtras) {
  put(src / "d/keep.h5", "k");
  put(src / "d/skip.tmp", "s");
  put(src / "d/cache/x", "x");
  put(dst / "d/old.h5", "o");
  put(dst / "d/stale/y", "y");
  put(dst / "d/protected.tmp", "p");
  const Json out = run(request(Json::array({item("d", "d", true)}),
                               {{"delete_destination_extra", true},
                                {"filter_rules", Json::parse(R"([{"method": "exclude", "name": "*.tmp"},
                                                                {"method": "exclude", "name": "cache", "type": "dir"}])")}}));
  EXPECT_EQ(tree(dst), (std::vector<std::string>{"d", "d/keep.h5", "d/protected.tmp"}));
  EXPECT_EQ(out["deleted"], Json::parse(R"(["d/old.h5", "d/stale"])"));
}

TEST_F(TransferTest, SymlinksInsideAreFollowedSymlinksOutAreRefused) {
  put(src / "d/real", "r");
  stdfs::create_directory_symlink(src / "d", src / "loop");  // absolute: refused even though inside
  stdfs::create_symlink("real", src / "d/link");
  const Json out = run(request(Json::array({item("d", "d", true)})));
  EXPECT_EQ(slurp(dst / "d/link"), "r");
  EXPECT_FALSE(stdfs::is_symlink(dst / "d/link"));

  put(dir.path() / "secret", "s");
  stdfs::create_symlink("../../secret", src / "d/out");
  expect_error([&] { run(request(Json::array({item("d", "e", true)})), state / "2"); }, "transfer.path.escapes",
               {"endpoint=beamline", "path=d/out"});
  EXPECT_FALSE(stdfs::exists(dst / "e")) << "nothing is written when the scan refuses";
  expect_error([&] { run(request(Json::array({item("loop/real", "e")})), state / "3"); }, "transfer.path.escapes");
  // A destination folder that is a symlink leading out.
  stdfs::remove(src / "d/out");
  stdfs::create_directories(dir.path() / "elsewhere");
  stdfs::create_directory_symlink(dir.path() / "elsewhere", dst / "away");
  expect_error([&] { run(request(Json::array({item("d/real", "away/real")})), state / "4"); },
               "transfer.path.escapes", {"endpoint=compute"});
  EXPECT_TRUE(stdfs::is_empty(dir.path() / "elsewhere"));
}

TEST_F(TransferTest, BadInputsAreClearErrorsAndWriteNothing) {
  put(src / "f", "f");
  put(src / "d/g", "g");
  int attempt = 0;
  auto fresh = [&] { return state / std::to_string(++attempt); };
  auto nothing_written = [&] { EXPECT_TRUE(tree(dst).empty()) << tree(dst).size(); };
  Json r = request(Json::array({item("f", "f")}));
  r["source_endpoint"] = "nowhere";
  expect_error([&] { run(r, fresh()); }, "transfer.endpoint.unknown", {"nowhere", "known=beamline, compute"});
  r = request(Json::array({item("f", "f")}));
  std::swap(r["source_endpoint"], r["destination_endpoint"]);
  expect_error([&] { run(r, fresh()); }, "transfer.endpoint.read_only", {"endpoint=beamline"});
  EXPECT_TRUE(stdfs::exists(src / "f"));
  expect_error([&] { run(request(Json::array({item("missing", "f")})), fresh()); }, "transfer.source.missing",
               {"path=missing"});
  expect_error([&] { run(request(Json::array({item("d", "d")})), fresh()); }, "transfer.source.kind", {"recursive"});
  expect_error([&] { run(request(Json::array({item("f", "f", true)})), fresh()); }, "transfer.source.kind");
  expect_error([&] { run(request(Json::array({item("f", "x"), item("d/g", "x")})), fresh()); }, "transfer.request.invalid",
               {"same destination"});
  ::mkfifo((src / "fifo").c_str(), 0644);
  expect_error([&] { run(request(Json::array({item("fifo", "fifo")})), fresh()); }, "transfer.source.kind");
  nothing_written();
  // The same request against endpoints whose source is other than the fixture's.
  auto run_with_source = [&](Json source) {
    source["name"] = "beamline";
    const Endpoints changed = Endpoints::from_json(
        Json{{"endpoints", {source, {{"name", "compute"}, {"path", dst.string()}, {"write", true}}}}}, dir.path());
    TransferOptions options;
    options.state_dir = fresh();
    run_transfer(parse_request(request(Json::array({item("f", "f")}))), changed, parallel::Comm::serial(), options);
  };
  expect_error([&] { run_with_source({{"path", (dir.path() / "none").string()}}); }, "transfer.endpoint.root",
               {"endpoint=beamline"});
  expect_error([&] { run_with_source({{"path", src.string()}, {"read", false}}); }, "transfer.endpoint.not_readable",
               {"endpoint=beamline"});
  nothing_written();
}

// A source file that changes between the scan and its copy is a retryable
// error naming it, with nothing of the batch left under any name; the retry
// copies what the file holds then.
TEST_F(TransferTest, ASourceChangedAfterTheScanIsAnErrorAndTheRetryCopiesItsNewContent) {
  put(src / "a", "first");
  put(src / "b", "second");
  const Json r = request(Json::array({item("a", "a"), item("b", "b")}));
  TransferOptions options;
  options.state_dir = state;
  options.progress = [&](const Progress& p) {
    if (p.files_done == 1) put(src / "b", "second, longer now");
  };
  expect_error([&] { run_transfer(parse_request(r), endpoints, parallel::Comm::serial(), options); },
               "transfer.source.changed", {"path=b", "retry once it is complete"});
  EXPECT_TRUE(tree(dst).empty()) << tree(dst).size();
  const Json out = run(r);
  EXPECT_TRUE(out["retry"].get<bool>());
  EXPECT_EQ(slurp(dst / "b"), "second, longer now");
  EXPECT_EQ(slurp(dst / "a"), "first");
}

// A second process on the same state folder is refused before it scans or
// writes anything (the lock is the state folder's, not the destination's).
TEST_F(TransferTest, ATransferAlreadyRunningOnTheStateFolderIsRefused) {
  put(src / "f", "f");
  stdfs::create_directories(state);
  const auto held = fs::FileLock::try_acquire(state / "lock");
  ASSERT_TRUE(held);
  expect_error([&] { run(request(Json::array({item("f", "f")}))); }, "transfer.manifest.locked",
               {"state_dir=" + state.string()});
  EXPECT_TRUE(tree(dst).empty());
}

// Issue 9 §5: the transfer's state (its folder and every parent it creates,
// request.json, the journals, result.json, the lock) is owner-only whatever
// the umask. The copied files are the user's data and are not checked here.
TEST_F(TransferTest, StateIsOwnerOnlyWhateverTheUmask) {
  put(src / "f", "f");
  const auto home = dir.path() / "home";
  const auto state_dir = home / "transfers" / "t1";
  const mode_t old = ::umask(0);
  const Json out = run(request(Json::array({item("f", "f")})), state_dir);
  ::umask(old);
  EXPECT_EQ(out["status"], "SUCCEEDED");
  for (const auto& d : {home, home / "transfers", state_dir})
    EXPECT_EQ(stdfs::status(d).permissions() & stdfs::perms::all, stdfs::perms::owner_all) << d;
  std::size_t files = 0;
  for (const auto& e : stdfs::directory_iterator(state_dir)) {
    ++files;
    EXPECT_EQ(e.status().permissions() & stdfs::perms::all, stdfs::perms::owner_read | stdfs::perms::owner_write)
        << e.path();
  }
  EXPECT_GE(files, 3u);  // request.json, journal-r0.log, result.json (and the lock)
  EXPECT_TRUE(stdfs::exists(state_dir / "journal-r0.log"));
  EXPECT_TRUE(stdfs::exists(state_dir / "result.json"));
}

}  // namespace
}  // namespace beamflow::transfer::testing
