#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "journal_test_support.hpp"

namespace beamflow::journal {
namespace {

using test::Bytes;
using test::Commit;
using test::payload;
using test::Rec;

class WriterTest : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::filesystem::path file = dir / "journal";
};

TEST_F(WriterTest, CreateWritesHeaderOnlyAndNoTemporaryFiles) {
  {
    auto w = Writer::create(file, Durability::Fsync);
    EXPECT_EQ(w.file_size(), format::header_size);
    EXPECT_EQ(w.path(), file);
  }
  const auto header = format::encode_header();
  EXPECT_EQ(test::read_bytes(file), Bytes(header.begin(), header.end()));
  EXPECT_EQ(test::count_entries(dir.path()), 1u);
}

TEST_F(WriterTest, DurableRoundTrip) {
  const std::vector<Rec> recs = {{1, payload(1, 0)}, {2, payload(2, 1)}, {65535, payload(3, 1000)}};
  {
    auto w = Writer::create(file, Durability::Fsync);
    for (const Rec& r : recs) w.append(r.type, r.payload);
    w.commit();
  }
  test::expect_records(read_journal(file).records, recs);
}

TEST_F(WriterTest, NothingReachesTheFileBeforeCommit) {
  auto w = Writer::create(file, Durability::None);
  w.append(1, payload(1, 10));
  w.append(2, payload(2, 10));
  EXPECT_EQ(w.buffered_records(), 2u);
  EXPECT_TRUE(read_journal(file).records.empty());
  w.commit();
  EXPECT_EQ(w.buffered_records(), 0u);
  EXPECT_EQ(read_journal(file).records.size(), 2u);
}

TEST_F(WriterTest, EmptyCommitIsANoOp) {
  auto w = Writer::create(file, Durability::Fsync);
  w.commit();
  EXPECT_EQ(w.commits(), 0u);
  EXPECT_EQ(std::filesystem::file_size(file), format::header_size);
}

TEST_F(WriterTest, ManyRecordsAndCounters) {
  std::vector<Rec> all;
  std::uint64_t bytes = 0;
  {
    auto w = Writer::create(file, Durability::None);
    for (unsigned c = 0; c < 200; ++c) {
      for (unsigned k = 0; k < 50; ++k) {
        const unsigned i = c * 50 + k;
        Rec r{static_cast<std::uint16_t>(i % 65536), payload(i, i % 300)};
        w.append(r.type, r.payload);
        bytes += format::record_header_size + r.payload.size();
        all.push_back(std::move(r));
      }
      w.commit();
    }
    EXPECT_EQ(w.commits(), 200u);
    EXPECT_EQ(w.records_written(), all.size());
    EXPECT_EQ(w.bytes_written(), bytes);
    EXPECT_EQ(w.file_size(), format::header_size + bytes);
  }
  const ReadReport r = read_journal(file);
  test::expect_records(r.records, all);
  EXPECT_EQ(r.file_size, format::header_size + bytes);
}

TEST_F(WriterTest, ReopenAppendsAfterExistingRecords) {
  test::make_journal(file, {{Rec{1, payload(1, 5)}}, {Rec{2, payload(2, 6)}}});
  const auto size_before = std::filesystem::file_size(file);
  {
    auto w = Writer::open_append(file, Durability::Fsync);
    EXPECT_EQ(w.file_size(), size_before);
    w.append(3, payload(3, 7));
    w.append(4, payload(4, 8));
    w.commit();
  }
  const ReadReport r = read_journal(file);
  test::expect_records(r.records, {{1, payload(1, 5)}, {2, payload(2, 6)}, {3, payload(3, 7)}, {4, payload(4, 8)}});
  EXPECT_EQ(r.records[2].offset, size_before);
}

TEST_F(WriterTest, ReopenCutsGarbageTailBeforeAppending) {
  test::make_journal(file, {{Rec{1, payload(1, 5)}}});
  Bytes bytes = test::read_bytes(file);
  const auto good = bytes.size();
  bytes.insert(bytes.end(), {'B', 'F', 'J', 'R', 0xFF, 0xFF, 0, 0, 1, 2, 3});
  test::write_bytes(file, bytes);
  {
    auto w = Writer::open_append(file, Durability::Fsync);
    EXPECT_EQ(std::filesystem::file_size(file), good);
    w.append(2, payload(2, 5));
    w.commit();
  }
  const ReadReport r = read_journal(file);
  test::expect_records(r.records, {{1, payload(1, 5)}, {2, payload(2, 5)}});
  EXPECT_FALSE(r.torn_tail);
}

TEST_F(WriterTest, CreateRefusesAnExistingJournal) {
  test::make_journal(file, {{Rec{1, payload(1, 5)}}});
  test::expect_error([&] { Writer::create(file, Durability::Fsync); }, "journal.exists",
                     {"journal already exists", "file=" + file.string()});
  EXPECT_EQ(read_journal(file).records.size(), 1u);  // untouched
}

TEST_F(WriterTest, CreateInAMissingDirectoryFails) {
  const auto missing = dir / "nowhere" / "journal";
  test::expect_error([&] { Writer::create(missing, Durability::Fsync); }, "journal.open",
                     {"cannot create a temporary file", "No such file or directory",
                      "file=" + missing.string()});
}

TEST_F(WriterTest, OpenAppendOnAMissingFileFails) {
  test::expect_error([&] { Writer::open_append(file, Durability::Fsync); }, "journal.open",
                     {"cannot open the journal for append", "No such file or directory",
                      "file=" + file.string()});
}

TEST_F(WriterTest, OpenAppendOnAnotherVersionFails) {
  test::make_journal(file, {});
  Bytes bytes = test::read_bytes(file);
  format::store_u32(bytes.data() + 8, 3);
  test::write_bytes(file, bytes);
  test::expect_error([&] { Writer::open_append(file, Durability::Fsync); }, "journal.header",
                     {"version 3 is not supported", "file=" + file.string()});
}

TEST_F(WriterTest, OversizedRecordIsRefusedAtAppend) {
  auto w = Writer::create(file, Durability::None);
  const Bytes huge(format::max_payload + 1);
  test::expect_error([&] { w.append(1, huge); }, "journal.record_too_large",
                     {"268435457 bytes exceeds the 268435456-byte journal limit",
                      "file=" + file.string()});
  EXPECT_EQ(w.buffered_records(), 0u);
}

TEST_F(WriterTest, MovedFromWriterIsClosed) {
  auto w = Writer::create(file, Durability::None);
  Writer moved = std::move(w);
  w.append(1, payload(1, 3));
  test::expect_error([&] { w.commit(); }, "journal.closed", {"journal writer is closed"});
  moved.append(2, payload(2, 3));
  moved.commit();
  test::expect_records(read_journal(file).records, {{2, payload(2, 3)}});
}

TEST_F(WriterTest, MoveAssignmentKeepsWritingToTheRightFile) {
  const auto other = dir / "other";
  auto a = Writer::create(file, Durability::None);
  auto b = Writer::create(other, Durability::None);
  a.append(1, payload(1, 3));
  a = std::move(b);
  a.append(2, payload(2, 3));
  a.commit();
  EXPECT_TRUE(read_journal(file).records.empty());
  test::expect_records(read_journal(other).records, {{2, payload(2, 3)}});
}

// A write cut short (here by RLIMIT_FSIZE, as by a full disk) must not leave
// part of the commit behind: the file is cut back, the buffer kept, and a
// retry writes each record exactly once.
TEST_F(WriterTest, FailedCommitIsCutBackAndRetriesCleanly) {
  const int code = test::run_in_child([&] {
    auto w = Writer::create(file, Durability::Fsync);
    w.append(1, payload(1, 10));
    w.commit();
    const auto committed = w.file_size();

    ::signal(SIGXFSZ, SIG_IGN);
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit tight = old;
    tight.rlim_cur = committed + 100;  // room for part of the commit only
    if (::setrlimit(RLIMIT_FSIZE, &tight) != 0) return 10;
    w.append(2, payload(2, 300));
    w.append(3, payload(3, 300));
    try {
      w.commit();
      return 11;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (e.id() != "journal.io" || !e.retryable()) return 12;
      if (what.find("cannot append to the journal: File too large") == std::string::npos) return 13;
      if (what.find("file=" + file.string()) == std::string::npos) return 14;
    }
    if (std::filesystem::file_size(file) != committed) return 15;
    if (w.buffered_records() != 2 || w.commits() != 1) return 16;
    if (::setrlimit(RLIMIT_FSIZE, &old) != 0) return 17;
    w.commit();
    const ReadReport r = read_journal(file);
    if (r.records.size() != 3 || r.records[1].type != 2 || r.records[2].type != 3) return 18;
    if (r.torn_tail || r.skipped_records != 0) return 19;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST_F(WriterTest, RewriteReplacesTheJournalWithTheGivenRecords) {
  std::vector<Commit> commits;
  for (unsigned i = 0; i < 20; ++i) commits.push_back({Rec{static_cast<std::uint16_t>(i), payload(i, i)}});
  test::make_journal(file, commits);
  Bytes bytes = test::read_bytes(file);
  bytes[read_journal(file).records[3].offset + 5] ^= 1;  // damage compaction drops
  test::write_bytes(file, bytes);
  const ReadReport damaged = read_journal(file);
  ASSERT_TRUE(damaged.damage);
  ASSERT_EQ(damaged.after_damage.size(), 16u);

  std::vector<Record> keep(damaged.after_damage.begin() + 6, damaged.after_damage.end());
  rewrite_journal(file, keep, Durability::Fsync);

  const ReadReport r = read_journal(file);
  EXPECT_EQ(r.skipped_records, 0u);
  EXPECT_FALSE(r.torn_tail);
  ASSERT_EQ(r.records.size(), keep.size());
  for (std::size_t i = 0; i < keep.size(); ++i) {
    EXPECT_EQ(r.records[i].type, keep[i].type);
    EXPECT_EQ(r.records[i].payload, keep[i].payload);
  }
  EXPECT_EQ(test::count_entries(dir.path()), 1u);

  auto w = Writer::open_append(file, Durability::None);
  w.append(500, payload(500, 5));
  w.commit();
  EXPECT_EQ(read_journal(file).records.back().type, 500);
}

// Compacted records are separate commits: damage is located to one record.
TEST_F(WriterTest, RewrittenJournalLocatesADamagedRecord) {
  std::vector<Record> records(5);
  for (unsigned i = 0; i < records.size(); ++i) records[i] = {static_cast<std::uint16_t>(i), payload(i, 20), 0};
  rewrite_journal(file, records, Durability::None);
  Bytes bytes = test::read_bytes(file);
  bytes[read_journal(file).records[2].offset + format::record_header_size] ^= 0x80;
  test::write_bytes(file, bytes);
  const ReadReport r = read_journal(file);
  EXPECT_EQ(r.records.size(), 2u);
  ASSERT_TRUE(r.damage);
  EXPECT_EQ(r.damage->record, 2u);
  EXPECT_EQ(r.after_damage.size(), 2u);
  EXPECT_EQ(r.skipped_records, 1u);
}

TEST_F(WriterTest, RewriteIntoAMissingDirectoryFails) {
  const auto missing = dir / "nowhere" / "journal";
  test::expect_error([&] { rewrite_journal(missing, {}, Durability::Fsync); }, "journal.io",
                     {"cannot create a temporary file", "file=" + missing.string()});
}

TEST_F(WriterTest, RewriteRefusesOversizedRecordsBeforeTouchingTheFile) {
  test::make_journal(file, {{Rec{1, payload(1, 5)}}});
  std::vector<Record> records(1);
  records[0].payload.resize(format::max_payload + 1);
  test::expect_error([&] { rewrite_journal(file, records, Durability::None); },
                     "journal.record_too_large", {"exceeds"});
  EXPECT_EQ(read_journal(file).records.size(), 1u);
}

}  // namespace
}  // namespace beamflow::journal
