// The reader's contract on damaged files: torn tails cut, damage before the
// tail reported with its offset and record (never skipped: issue 9 replaced
// the old skip-and-continue rule), bad headers rejected with journal.header,
// never a crash.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <random>

#include "journal/format.hpp"
#include "journal/journal.hpp"
#include "journal_test_support.hpp"

namespace beamflow::journal {
namespace {

using test::Bytes;
using test::Commit;
using test::payload;
using test::Rec;

// Ten single-record commits of varied sizes (0 .. 90 bytes).
std::vector<Commit> ten_commits() {
  std::vector<Commit> commits;
  for (unsigned i = 0; i < 10; ++i)
    commits.push_back({Rec{static_cast<std::uint16_t>(100 + i), payload(i, i * 10)}});
  return commits;
}

std::uint64_t record_end(const Record& r) {
  return r.offset + format::record_header_size + r.payload.size();
}

class Reader : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::filesystem::path file = dir / "journal";
};

TEST_F(Reader, RoundTripKeepsTypesPayloadsAndOffsets) {
  const auto commits = ten_commits();
  test::make_journal(file, commits);
  const ReadReport r = read_journal(file);
  test::expect_records(r.records, test::flatten(commits));
  std::uint64_t expected_offset = format::header_size;
  for (const Record& rec : r.records) {
    EXPECT_EQ(rec.offset, expected_offset);
    expected_offset = record_end(rec);
  }
  EXPECT_EQ(r.valid_end, expected_offset);
  EXPECT_EQ(r.file_size, expected_offset);
  EXPECT_FALSE(r.torn_tail);
  EXPECT_EQ(r.skipped_records, 0u);
}

TEST_F(Reader, EmptyJournalHasNoRecords) {
  test::make_journal(file, {});
  const ReadReport r = read_journal(file);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.valid_end, format::header_size);
  EXPECT_EQ(r.file_size, format::header_size);
  EXPECT_FALSE(r.torn_tail);
}

// A crash can stop the file at any byte of the last record: the earlier
// records survive and the next writer appends cleanly after them.
TEST_F(Reader, TornTailAtEveryByteOfTheLastRecord) {
  const auto commits = ten_commits();
  test::make_journal(file, commits);
  const Bytes whole = test::read_bytes(file);
  const std::uint64_t last_start = read_journal(file).records.back().offset;
  auto survivors = test::flatten(commits);
  survivors.pop_back();
  const Rec next{7, payload(99, 33)};

  for (std::uint64_t cut = last_start; cut < whole.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    test::write_bytes(file, Bytes(whole.begin(), whole.begin() + static_cast<long>(cut)));
    const ReadReport torn = read_journal(file);
    test::expect_records(torn.records, survivors);
    EXPECT_EQ(torn.valid_end, last_start);
    EXPECT_EQ(torn.file_size, cut);
    EXPECT_EQ(torn.torn_tail, cut > last_start);
    EXPECT_EQ(torn.skipped_records, 0u);

    {
      auto w = Writer::open_append(file, Durability::None);
      EXPECT_EQ(w.file_size(), last_start);
      w.append(next.type, next.payload);
      w.commit();
    }
    const ReadReport after = read_journal(file);
    auto expected = survivors;
    expected.push_back(next);
    test::expect_records(after.records, expected);
    EXPECT_FALSE(after.torn_tail);
    EXPECT_EQ(after.skipped_records, 0u);
    EXPECT_EQ(after.valid_end, after.file_size);
  }
}

// A commit of several records counts only whole: cut anywhere inside it,
// none of its records is returned.
TEST_F(Reader, TornTailInsideAMultiRecordCommitDropsTheWholeCommit) {
  std::vector<Commit> commits = ten_commits();
  commits.push_back({Rec{1, payload(1, 20)}, Rec{2, payload(2, 0)}, Rec{3, payload(3, 45)}});
  test::make_journal(file, commits);
  const Bytes whole = test::read_bytes(file);
  const auto full = read_journal(file);
  const std::uint64_t commit_start = full.records[10].offset;
  const auto earlier = test::flatten({commits.begin(), commits.end() - 1});

  for (std::uint64_t cut = commit_start; cut <= whole.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    test::write_bytes(file, Bytes(whole.begin(), whole.begin() + static_cast<long>(cut)));
    const ReadReport r = read_journal(file);
    if (cut == whole.size()) {
      test::expect_records(r.records, test::flatten(commits));
      EXPECT_FALSE(r.torn_tail);
    } else {
      test::expect_records(r.records, earlier);
      EXPECT_EQ(r.valid_end, commit_start);
      EXPECT_EQ(r.torn_tail, cut > commit_start);
    }
  }
}

// Writeback can reach the disk out of order: the head of the final commit
// zeroed while its later records made it. The commit never returned, so none
// of it may be replayed.
TEST_F(Reader, FinalCommitWithALostHeadIsTorn) {
  std::vector<Commit> commits = ten_commits();
  commits.push_back({Rec{1, payload(1, 20)}, Rec{2, payload(2, 30)}, Rec{3, payload(3, 40)}});
  test::make_journal(file, commits);
  Bytes bytes = test::read_bytes(file);
  const Record head = read_journal(file).records[10];
  std::fill(bytes.begin() + static_cast<long>(head.offset),
            bytes.begin() + static_cast<long>(record_end(head)), 0);
  test::write_bytes(file, bytes);

  const ReadReport r = read_journal(file);
  test::expect_records(r.records, test::flatten({commits.begin(), commits.end() - 1}));
  EXPECT_EQ(r.valid_end, head.offset);
  EXPECT_TRUE(r.torn_tail);
  EXPECT_EQ(r.skipped_records, 0u);
}

// One flipped bit anywhere in a middle record (sync, length, CRC, type,
// flags or payload) is damage at that record: the records before it are
// returned, the ones after it only as what a repair would drop.
TEST_F(Reader, BitFlipInAMiddleRecordIsDamageAtThatRecord) {
  const auto commits = ten_commits();
  test::make_journal(file, commits);
  const Bytes whole = test::read_bytes(file);
  const Record victim = read_journal(file).records[5];
  const auto all = test::flatten(commits);
  const std::vector<Rec> before(all.begin(), all.begin() + 5);
  const std::vector<Rec> after(all.begin() + 6, all.end());

  for (std::uint64_t at = victim.offset; at < record_end(victim); ++at) {
    for (int bit : {0, 3, 7}) {
      SCOPED_TRACE("byte " + std::to_string(at) + " bit " + std::to_string(bit));
      Bytes bytes = whole;
      bytes[at] ^= static_cast<std::uint8_t>(1u << bit);
      test::write_bytes(file, bytes);
      const ReadReport r = read_journal(file);
      test::expect_records(r.records, before);
      ASSERT_TRUE(r.damage);
      EXPECT_EQ(r.damage->offset, victim.offset);
      EXPECT_EQ(r.damage->good_end, victim.offset);
      EXPECT_EQ(r.damage->record, 5u);
      test::expect_records(r.after_damage, after);
      EXPECT_EQ(r.skipped_records, 1u);
      EXPECT_FALSE(r.torn_tail);
      EXPECT_EQ(r.valid_end, whole.size());
    }
  }
}

// Damage inside an older multi-record commit: the history ends before that
// commit, the damage is located at the damaged record itself.
TEST_F(Reader, DamageInsideAnOlderCommitEndsTheHistoryBeforeThatCommit) {
  std::vector<Commit> commits = {{Rec{1, payload(1, 10)}},
                                 {Rec{2, payload(2, 20)}, Rec{3, payload(3, 30)}, Rec{4, payload(4, 40)}},
                                 {Rec{5, payload(5, 50)}}};
  test::make_journal(file, commits);
  Bytes bytes = test::read_bytes(file);
  const Record middle = read_journal(file).records[2];
  bytes[middle.offset + format::record_header_size + 3] ^= 0x10;
  test::write_bytes(file, bytes);

  const ReadReport r = read_journal(file);
  const auto all = test::flatten(commits);
  test::expect_records(r.records, {all[0]});
  ASSERT_TRUE(r.damage);
  EXPECT_EQ(r.damage->offset, middle.offset);
  EXPECT_EQ(r.damage->record, 2u);
  EXPECT_EQ(r.damage->good_end, r.records[0].offset + format::record_header_size + r.records[0].payload.size());
  test::expect_records(r.after_damage, {all[1], all[3], all[4]});
  EXPECT_EQ(r.skipped_records, 1u);
  EXPECT_FALSE(r.torn_tail);
  EXPECT_NE(describe(*r.damage).find("damaged at byte " + std::to_string(middle.offset) + " (record #3"),
            std::string::npos)
      << describe(*r.damage);
}

// A commit broken off by the next one (all CRCs valid) is damage too.
TEST_F(Reader, CommitWithoutItsLastRecordBeforeTheTailIsDamage) {
  test::make_journal(file, {{Rec{1, payload(1, 10)}}, {Rec{2, payload(2, 20)}, Rec{3, payload(3, 30)}},
                            {Rec{4, payload(4, 40)}}});
  Bytes bytes = test::read_bytes(file);
  const Record second = read_journal(file).records[1];
  const Record third = read_journal(file).records[2];
  format::seal_record(bytes.data() + third.offset, 0);  // no longer `last`
  test::write_bytes(file, bytes);
  const ReadReport r = read_journal(file);
  test::expect_records(r.records, {Rec{1, payload(1, 10)}});
  ASSERT_TRUE(r.damage);
  EXPECT_EQ(r.damage->good_end, second.offset);
  EXPECT_EQ(r.damage->record, 3u);
  EXPECT_NE(r.damage->what.find("a commit begins before the previous one ended"), std::string::npos);
  test::expect_error([&] { Writer::open_append(file, Durability::None); }, "journal.corrupt",
                     {"refusing to append to a damaged journal", "damaged at byte"});
  EXPECT_EQ(test::read_bytes(file), bytes);  // nothing cut, nothing appended
}

TEST_F(Reader, GarbageBetweenCommitsIsDamageAtItsFirstByte) {
  const auto commits = ten_commits();
  test::make_journal(file, commits);
  Bytes bytes = test::read_bytes(file);
  const Record fourth = read_journal(file).records[4];
  Bytes garbage(300);
  std::mt19937 rng(3);
  for (auto& b : garbage) b = static_cast<std::uint8_t>(rng());
  bytes.insert(bytes.begin() + static_cast<long>(fourth.offset), garbage.begin(), garbage.end());
  test::write_bytes(file, bytes);

  const ReadReport r = read_journal(file);
  const auto all = test::flatten(commits);
  test::expect_records(r.records, {all.begin(), all.begin() + 4});
  ASSERT_TRUE(r.damage);
  EXPECT_EQ(r.damage->offset, fourth.offset);
  EXPECT_EQ(r.damage->record, 4u);
  test::expect_records(r.after_damage, {all.begin() + 4, all.end()});
  EXPECT_EQ(r.after_damage[0].offset, fourth.offset + garbage.size());
  EXPECT_EQ(r.skipped_records, 1u);
  EXPECT_FALSE(r.torn_tail);
}

Bytes header_bytes() {
  const auto h = format::encode_header();
  return Bytes(h.begin(), h.end());
}

Bytes record_header(std::uint32_t length) {
  Bytes h(format::record_header_size, 0);
  format::store_u32(h.data(), format::sync_marker);
  format::store_u32(h.data() + 4, length);
  return h;
}

TEST_F(Reader, ZeroFilledBodyIsATornTail) {
  Bytes bytes = header_bytes();
  bytes.resize(bytes.size() + 4096, 0);
  test::write_bytes(file, bytes);
  const ReadReport r = read_journal(file);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.valid_end, format::header_size);
  EXPECT_TRUE(r.torn_tail);
}

// A length field past the cap or past the file is corruption: no huge
// allocation, and the valid record after it is found again.
TEST_F(Reader, HugeLengthFieldIsCorruptNotAnAllocation) {
  for (std::uint32_t length : {0xFFFFFFFFu, format::max_payload + 1, 0x00100000u}) {
    SCOPED_TRACE(length);
    test::make_journal(file, {{Rec{9, payload(9, 12)}}});
    Bytes good = test::read_bytes(file);
    const Bytes good_record(good.begin() + format::header_size, good.end());
    Bytes bytes = header_bytes();
    const Bytes bad = record_header(length);
    bytes.insert(bytes.end(), bad.begin(), bad.end());
    bytes.insert(bytes.end(), good_record.begin(), good_record.end());
    test::write_bytes(file, bytes);

    const ReadReport r = read_journal(file);
    EXPECT_TRUE(r.records.empty());
    ASSERT_TRUE(r.damage);
    EXPECT_EQ(r.damage->offset, format::header_size);
    test::expect_records(r.after_damage, {Rec{9, payload(9, 12)}});
    EXPECT_EQ(r.skipped_records, 1u);
    EXPECT_FALSE(r.torn_tail);

    test::write_bytes(file, Bytes(bytes.begin(), bytes.begin() + format::header_size + 16));
    const ReadReport tail = read_journal(file);
    EXPECT_TRUE(tail.records.empty());
    EXPECT_TRUE(tail.torn_tail);
    std::filesystem::remove(file);
  }
}

TEST_F(Reader, RecordWithUnknownFlagsIsCorrupt) {
  test::make_journal(file, {{Rec{1, payload(1, 5)}}, {Rec{2, payload(2, 5)}}});
  Bytes bytes = test::read_bytes(file);
  std::uint8_t* first = bytes.data() + format::header_size;
  format::seal_record(first, format::flag_first | format::flag_last | 0x8000);  // CRC valid
  test::write_bytes(file, bytes);
  const ReadReport r = read_journal(file);
  EXPECT_TRUE(r.records.empty());
  ASSERT_TRUE(r.damage);
  EXPECT_EQ(r.damage->offset, format::header_size);
  test::expect_records(r.after_damage, {Rec{2, payload(2, 5)}});
  EXPECT_EQ(r.skipped_records, 1u);
}

// Every byte of a small journal flipped in turn: the header refuses
// (journal.header), a flip in the last commit is a torn tail, any other flip
// is damage located at or before the flipped byte. Never a different history:
// what is returned is always a prefix of what was written, in whole commits.
TEST_F(Reader, EveryByteFlippedIsTornOrLocatedNeverADifferentHistory) {
  std::vector<Commit> commits;
  for (unsigned i = 0; i < 6; ++i) {
    Commit c;
    for (unsigned k = 0; k <= i % 3; ++k) c.push_back(Rec{static_cast<std::uint16_t>(1 + k), payload(i * 3 + k, 5 + i)});
    commits.push_back(c);
  }
  test::make_journal(file, commits);
  const Bytes whole = test::read_bytes(file);
  const auto all = test::flatten(commits);
  const std::uint64_t last_commit = read_journal(file).records[all.size() - commits.back().size()].offset;
  std::vector<std::size_t> commit_sizes;  // prefixes that end on a commit boundary
  std::size_t n = 0;
  commit_sizes.push_back(0);
  for (const Commit& c : commits) commit_sizes.push_back(n += c.size());

  for (std::size_t at = 0; at < whole.size(); ++at) {
    SCOPED_TRACE("byte " + std::to_string(at));
    Bytes bytes = whole;
    bytes[at] ^= 0xFF;
    if (at < format::header_size) {
      EXPECT_THROW(parse_journal(bytes.data(), bytes.size(), "flip"), Error);
      continue;
    }
    const ReadReport r = parse_journal(bytes.data(), bytes.size(), "flip");
    ASSERT_NE(std::find(commit_sizes.begin(), commit_sizes.end(), r.records.size()), commit_sizes.end());
    test::expect_records(r.records, {all.begin(), all.begin() + static_cast<long>(r.records.size())});
    if (at >= last_commit) {
      EXPECT_FALSE(r.damage);
      EXPECT_TRUE(r.torn_tail);
      EXPECT_EQ(r.valid_end, last_commit);
    } else {
      ASSERT_TRUE(r.damage);
      EXPECT_LE(r.damage->offset, at);
      EXPECT_LE(r.damage->good_end, r.damage->offset);
      EXPECT_EQ(r.valid_end, whole.size());
    }
  }
}

TEST_F(Reader, FifoIsRefusedWithoutWaiting) {
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
  test::expect_error([&] { read_journal(file); }, "journal.open", {"not a regular file"});
  test::expect_error([&] { Writer::open_append(file, Durability::None); }, "journal.open", {"not a regular file"});
}

TEST_F(Reader, EmptyFileIsNotAJournal) {
  test::write_bytes(file, {});
  test::expect_error([&] { read_journal(file); }, "journal.header",
                     {"not a beamflow journal", "0 bytes", "file=" + file.string()});
}

TEST_F(Reader, ShortFileIsNotAJournal) {
  Bytes bytes = header_bytes();
  bytes.resize(10);
  test::write_bytes(file, bytes);
  test::expect_error([&] { read_journal(file); }, "journal.header",
                     {"10 bytes, shorter than the 16-byte header", "file=" + file.string()});
}

TEST_F(Reader, WrongMagicIsNotAJournal) {
  Bytes bytes = header_bytes();
  bytes[0] = 'X';
  test::write_bytes(file, bytes);
  test::expect_error([&] { read_journal(file); }, "journal.header",
                     {"bad magic", "file=" + file.string()});
}

TEST_F(Reader, GarbageFileIsNotAJournal) {
  Bytes bytes(1000);
  std::mt19937 rng(11);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  test::write_bytes(file, bytes);
  test::expect_error([&] { read_journal(file); }, "journal.header", {"bad magic"});
}

TEST_F(Reader, OtherVersionIsRejected) {
  Bytes bytes = header_bytes();
  format::store_u32(bytes.data() + 8, 2);
  test::write_bytes(file, bytes);
  test::expect_error([&] { read_journal(file); }, "journal.header",
                     {"journal format version 2 is not supported", "reads version 1",
                      "file=" + file.string()});
}

TEST_F(Reader, HeaderFlagsAreRejected) {
  Bytes bytes = header_bytes();
  format::store_u32(bytes.data() + 12, 0x40);
  test::write_bytes(file, bytes);
  test::expect_error([&] { read_journal(file); }, "journal.header",
                     {"header flags 0x40 are not supported"});
}

TEST_F(Reader, MissingFileIsAnOpenError) {
  test::expect_error([&] { read_journal(file); }, "journal.open",
                     {"cannot open", "No such file or directory", "file=" + file.string()});
}

TEST_F(Reader, DirectoryIsAnOpenError) {
  test::expect_error([&] { read_journal(dir.path()); }, "journal.open",
                     {"not a regular file", "file=" + dir.path().string()});
}

// Invariants every parse must keep, whatever the bytes.
void check_invariants(const ReadReport& r, std::size_t size) {
  ASSERT_EQ(r.file_size, size);
  ASSERT_GE(r.valid_end, format::header_size);
  ASSERT_LE(r.valid_end, size);
  ASSERT_EQ(r.torn_tail, r.valid_end < size);
  std::uint64_t previous_end = format::header_size;
  for (const Record& rec : r.records) {
    ASSERT_GE(rec.offset, previous_end);
    ASSERT_LE(record_end(rec), r.valid_end);
    previous_end = record_end(rec);
  }
  if (r.damage) {
    ASSERT_LE(previous_end, r.damage->good_end);
    ASSERT_LE(r.damage->good_end, r.damage->offset);
    ASSERT_LT(r.damage->good_end, r.valid_end);
  } else {
    ASSERT_TRUE(r.after_damage.empty());
  }
}

// Random bytes after a valid header, salted with sync markers so the
// resynchronisation path runs: no crash, no exception, invariants hold.
TEST(ReaderFuzz, RandomBodiesNeverThrowOrCrash) {
  std::mt19937 rng(20240611);
  const Bytes header = header_bytes();
  for (int iteration = 0; iteration < 4000; ++iteration) {
    Bytes bytes = header;
    const std::size_t body = rng() % 2048;
    for (std::size_t i = 0; i < body; ++i) bytes.push_back(static_cast<std::uint8_t>(rng()));
    for (int k = 0, markers = static_cast<int>(rng() % 8); k < markers && body >= 8; ++k) {
      const std::size_t at = format::header_size + rng() % (body - 7);
      format::store_u32(bytes.data() + at, format::sync_marker);
      format::store_u32(bytes.data() + at + 4, rng() % 64);  // plausible lengths
    }
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    ReadReport r;
    ASSERT_NO_THROW(r = parse_journal(bytes.data(), bytes.size(), "fuzz"));
    check_invariants(r, bytes.size());
  }
}

// Random damage to a real journal (flips, zeroed runs, insertions,
// deletions, truncation): only journal.header may be thrown, and every record
// returned is one that was written, in order.
TEST(ReaderFuzz, MutatedJournalsYieldOnlyWrittenRecordsInOrder) {
  test::ScratchDir dir;
  const auto file = dir / "journal";
  std::vector<Commit> commits;
  for (unsigned i = 0; i < 30; ++i) {
    Commit c;
    for (unsigned k = 0; k <= i % 3; ++k)
      c.push_back(Rec{static_cast<std::uint16_t>(i * 4 + k), payload(i * 4 + k, (i * 13 + k) % 70)});
    commits.push_back(c);
  }
  test::make_journal(file, commits);
  const Bytes original = test::read_bytes(file);
  const auto written = test::flatten(commits);

  std::mt19937 rng(99);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    Bytes bytes = original;
    for (int m = 0, mutations = 1 + static_cast<int>(rng() % 4); m < mutations && !bytes.empty(); ++m) {
      const std::size_t at = rng() % bytes.size();
      const std::size_t span = std::min<std::size_t>(1 + rng() % 40, bytes.size() - at);
      switch (rng() % 5) {
        case 0: bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 1: std::fill_n(bytes.begin() + static_cast<long>(at), span, 0); break;
        case 2: bytes.insert(bytes.begin() + static_cast<long>(at), span, static_cast<std::uint8_t>(rng())); break;
        case 3: bytes.erase(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + span)); break;
        default: bytes.resize(at); break;
      }
    }
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    try {
      const ReadReport r = parse_journal(bytes.data(), bytes.size(), "fuzz");
      check_invariants(r, bytes.size());
      std::size_t next = 0;  // records must be a subsequence of `written`
      for (const Record& rec : r.records) {
        while (next < written.size() &&
               (written[next].type != rec.type || written[next].payload != rec.payload))
          ++next;
        ASSERT_LT(next, written.size()) << "record of type " << rec.type << " was never written";
        ++next;
      }
    } catch (const Error& e) {
      ASSERT_EQ(e.id(), "journal.header") << e.what();
    }
  }
}

}  // namespace
}  // namespace beamflow::journal
