#include "jobs/tomography/input_checksum.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <stop_token>

#include "core/hash.hpp"
#include "platform/checksum.hpp"

#include "tomo_fixture.hpp"

namespace beamflow::jobs {
namespace {

TEST(Checksum, MatchesSha256sum) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".txt");
  std::ofstream(file) << "abc";
  // FIPS 180-2 test vector.
  EXPECT_EQ(file_digest(file, DigestKind::Sha256),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::ofstream(file, std::ios::trunc).close();
  EXPECT_EQ(file_digest(file, DigestKind::Sha256),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// A file of several reads (platform::digest::file_digest reads 1 MiB at a
// time, the last one short) hashes as the whole of it at once, either kind.
TEST(Checksum, AFileOfManyReadsHashesAsOneBuffer) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".bin");
  std::string bytes((std::size_t{5} << 19) + 3, '\0');  // 2.5 MiB + 3
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(file, std::ios::binary) << bytes;
  Digest whole("SHA-256");
  whole.update(bytes.data(), bytes.size());
  EXPECT_EQ(file_digest(file, DigestKind::Sha256), sha256_digest(whole.hex()));
  EXPECT_EQ(file_digest(file, DigestKind::Xxh128), platform::digest::xxh128_of(bytes.data(), bytes.size()));
}

// Recorded digests name their kind; an older volume's bare SHA-256 hex
// reads as "sha256:<hex>".
TEST(Checksum, DigestsNameTheirKind) {
  EXPECT_EQ(digest_kind("xxh128:00112233445566778899aabbccddeeff"), DigestKind::Xxh128);
  EXPECT_EQ(digest_kind(sha256_digest(std::string(64, 'a'))), DigestKind::Sha256);
  EXPECT_EQ(digest_kind("md5:0123"), std::nullopt);
  EXPECT_EQ(digest_kind(std::string(64, 'a')), std::nullopt);
  EXPECT_EQ(sha256_hex_of(sha256_digest("ab12")), "ab12");
  EXPECT_EQ(sha256_hex_of("xxh128:ab12"), std::nullopt);
}

TEST(Checksum, MissingFileIsUnreadable) {
  testing::expect_error([] { file_digest("/nonexistent/beamflow/x.h5", DigestKind::Xxh128); }, "tomo.input.unreadable",
                        {"file=/nonexistent/beamflow/x.h5"});
}

// Hashed on a helper thread from construction (beamflow recon starts it
// before MPI_Init): the same checksum, and the same error, when asked.
TEST(Checksum, StartedEarlyItIsTheSameChecksum) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".txt");
  std::ofstream(file) << "abc";
  InputChecksum started(file, DigestKind::Sha256);
  EXPECT_EQ(started.path(), file);
  EXPECT_EQ(started.get(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  InputChecksum by_default(file);
  EXPECT_EQ(by_default.kind(), DigestKind::Xxh128);
  EXPECT_EQ(by_default.get(), platform::digest::xxh128_of("abc", 3));
  testing::expect_error([] { InputChecksum("/nonexistent/beamflow/x.h5").get(); }, "tomo.input.unreadable",
                        {"file=/nonexistent/beamflow/x.h5"});
}

// A checksum never asked for (the run failed first) stops at its next read
// rather than keeping the process alive to finish the file.
TEST(Checksum, AStoppedHashGivesUpAtItsNextRead) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".txt");
  std::ofstream(file) << "abc";
  std::stop_source stop;
  EXPECT_EQ(platform::sha256_file(file), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(platform::digest::file_digest(file, DigestKind::Sha256, stop.get_token()),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  stop.request_stop();
  EXPECT_EQ(platform::digest::file_digest(file, DigestKind::Xxh128, stop.get_token()), std::nullopt);
  { InputChecksum unasked(file); }  // joins its thread, asked to stop
}

}  // namespace
}  // namespace beamflow::jobs
