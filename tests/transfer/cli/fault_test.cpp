// The transfer's I/O error paths, end to end: the real binary with the
// fault-injection shim (tests/support/fault_shim.c) preloaded into it alone,
// failing one kind of call on one file from its Nth call on, half-way through
// a copy. Each case checks the error's id and the file it names, that nothing
// is left under a final name that is not the source's bytes (and no
// temporary file at all), that the state folder's journal is whole, and that
// a rerun without the shim completes and verifies every file without copying
// again those that were complete before the failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "cli_fixture.hpp"
#include "jobs/transfer/manifest.hpp"

namespace beamflow::transfer::testing {
namespace {

struct Fault {
  std::string call;   // BF_FAULT_CALL: read, write, sync, corrupt
  std::string path;   // BF_FAULT_PATH: text of the faulted file's path
  int after;          // BF_FAULT_AFTER: matching calls that pass first
  std::string id;     // the error expected
  std::string names;  // text the error's context names (its file)
  // A file the fault fails, never found under its final name. Only that
  // one: the big file is copied in a lane of its own, beside the small
  // files, and may be complete when a small one fails.
  std::string failed = "big";
};

class FaultTest : public CliTest {
 protected:
  static constexpr int kSmall = 100;

  void SetUp() override {
    CliTest::SetUp();
    for (int i = 0; i < kSmall; ++i) put(src / "small" / ("f" + std::to_string(i)), bytes(1000 + 37 * i, i));
    put(src / "big", bytes(4 << 20, 7));
  }

  // 16 KiB chunks: the 4 MiB file is 256 chunks, synced and recorded in
  // 4 batches of 64, each read back (verify) one chunk behind the copy.
  Json the_request() const {
    return request(Json::array({item("small", "small", true), item("big", "big")}),
                   {{"chunk_size", 16384}, {"verify_checksum", true}});
  }

  // Runs the transfer with `f` injected; the shim's variables are in the
  // child's environment only.
  Ran with_fault(const Fault& f, const std::string& state_dir) const {
    return transfer(the_request(), 1, state_dir,
                    {{"LD_PRELOAD", BEAMFLOW_FAULT_SHIM},
                     {"BF_FAULT_CALL", f.call},
                     {"BF_FAULT_PATH", f.path},
                     {"BF_FAULT_AFTER", std::to_string(f.after)},
                     {"BF_FAULT_LOG", (dir.path() / (state_dir + ".faults")).string()}});
  }

  // Files under final names (relative to dst), after checking that each
  // holds its source's bytes and that no temporary file is left.
  std::vector<std::string> final_files() const {
    std::vector<std::string> out;
    for (const std::string& rel : tree(dst)) {
      EXPECT_EQ(rel.find(".bf-"), std::string::npos) << "temporary file left: " << rel;
      if (stdfs::is_directory(dst / rel)) continue;
      EXPECT_EQ(slurp(dst / rel), slurp(src / rel)) << rel << " is under its final name with other bytes";
      out.push_back(rel);
    }
    return out;
  }

  void check(const Fault& f, const std::string& state_dir) {
    SCOPED_TRACE(f.call + " on " + f.path + " after " + std::to_string(f.after));
    stdfs::remove_all(dst);
    stdfs::create_directories(dst);
    const Ran r = with_fault(f, state_dir);
    EXPECT_EQ(r.code, 1) << r.err << r.out;
    EXPECT_NE(r.err.find("[" + f.id + "]"), std::string::npos) << r.err;
    const Json doc = Json::parse(r.out);
    EXPECT_EQ(doc["error"], f.id) << doc;
    EXPECT_NE(doc["context"].dump().find(f.names), std::string::npos) << doc;
    // The fault fired, on the file meant, and only in the calls chosen.
    const std::string faults = slurp(dir.path() / (state_dir + ".faults"));
    EXPECT_FALSE(faults.empty()) << "the shim injected nothing";
    for (std::size_t at = 0, end; (end = faults.find('\n', at)) != std::string::npos; at = end + 1)
      EXPECT_NE(faults.substr(at, end - at).find(f.path), std::string::npos) << faults;

    const std::vector<std::string> done = final_files();
    EXPECT_EQ(std::count(done.begin(), done.end(), f.failed), 0) << "the failed file is under its final name";
    // The journal has no torn line: a rerun reads all of it.
    const std::string journal = slurp(dir.path() / state_dir / "journal-r0.log");
    std::size_t complete = 0;
    parse_journal(journal, &complete);
    EXPECT_EQ(complete, journal.size());

    const Ran again = transfer(the_request(), 1, state_dir);
    ASSERT_EQ(again.code, 0) << again.err << again.out;
    const Json s = Json::parse(again.out);
    EXPECT_EQ(s["status"], "SUCCEEDED");
    EXPECT_EQ(s["retry"], true);
    EXPECT_EQ(s["verified"], true);
    // What was complete before the failure is compared, not copied again.
    EXPECT_EQ(s["files_unchanged"], done.size());
    EXPECT_EQ(s["files_copied"], kSmall + 1 - done.size());
    EXPECT_EQ(s["checksums"].size(), static_cast<std::size_t>(kSmall + 1));
    EXPECT_EQ(final_files().size(), static_cast<std::size_t>(kSmall + 1));
  }
};

// An I/O error reading the source, in the 101st read of the big file (after
// its first 64 chunks are synced and recorded). The source was just written
// and is in the page cache, so it is read with pread (read_directly keeps
// cached files buffered); after POSIX_FADV_DONTNEED it may be read O_DIRECT
// with preadv on the read-ahead thread: the shim fails both.
TEST_F(FaultTest, AnUnreadableSourceIsAnErrorAndTheRerunCompletes) {
  check({"read", "/src/big", 100, "transfer.source.unreadable", "\"big\""}, "cached");
  const int fd = ::open((src / "big").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fsync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  check({"read", "/src/big", 100, "transfer.source.unreadable", "\"big\""}, "evicted");
}

// A write, a chunk batch's fdatasync (on its own thread) and a small-file
// batch's syncfs that fail: transfer.destination.io naming the temporary file.
TEST_F(FaultTest, AFailedWriteOrSyncOfTheDestinationIsAnErrorAndTheRerunCompletes) {
  check({"write", "/dst/.big.bf-", 100, "transfer.destination.io", ".big.bf-"}, "write");
  check({"sync", "/dst/.big.bf-", 1, "transfer.destination.io", ".big.bf-"}, "fdatasync");
  check({"sync", "/dst/small/.f", 0, "transfer.destination.io", "small/.f", "small/f0"}, "syncfs");
}

// The journal's append or its fdatasync fails after its first record:
// transfer.manifest.io naming the journal file itself.
TEST_F(FaultTest, AFailedJournalWriteOrSyncIsAnErrorAndTheRerunCompletes) {
  check({"write", "/journal-r0.log", 1, "transfer.manifest.io", "/append/journal-r0.log"}, "append");
  check({"sync", "/journal-r0.log", 1, "transfer.manifest.io", "/sync/journal-r0.log"}, "sync");
}

// Every read back of the destination comes back with a byte flipped: its
// chunks are copied again twice, then transfer.verify.mismatch. Both
// read-backs: the big file's, one chunk behind the copy on the verifier's
// thread, and a one-chunk file's after its copy.
TEST_F(FaultTest, ADestinationThatReadsBackWrongIsAMismatchAndTheRerunCompletes) {
  check({"corrupt", "/dst/.big.bf-", 0, "transfer.verify.mismatch", "\"big\""}, "big");
  check({"corrupt", "/dst/small/.f5.bf-", 0, "transfer.verify.mismatch", "small/f5", "small/f5"}, "small");
}

}  // namespace
}  // namespace beamflow::transfer::testing
