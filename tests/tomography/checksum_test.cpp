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
  EXPECT_EQ(sha256_file(file), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::ofstream(file, std::ios::trunc).close();
  EXPECT_EQ(sha256_file(file), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// A file of several reads (platform::sha256_file reads 1 MiB at a time,
// the last one short) hashes as the whole of it at once.
TEST(Checksum, AFileOfManyReadsHashesAsOneBuffer) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".bin");
  std::string bytes((std::size_t{5} << 19) + 3, '\0');  // 2.5 MiB + 3
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(file, std::ios::binary) << bytes;
  Digest whole("SHA-256");
  whole.update(bytes.data(), bytes.size());
  EXPECT_EQ(sha256_file(file), whole.hex());
}

TEST(Checksum, MissingFileIsUnreadable) {
  testing::expect_error([] { sha256_file("/nonexistent/beamflow/x.h5"); }, "tomo.input.unreadable",
                        {"file=/nonexistent/beamflow/x.h5"});
}

// Hashed on a helper thread from construction (beamflow recon starts it
// before MPI_Init): the same checksum, and the same error, when asked.
TEST(Checksum, StartedEarlyItIsTheSameChecksum) {
  testing::ScratchDir dir;
  const auto file = dir / (std::to_string(testing::world().rank()) + ".txt");
  std::ofstream(file) << "abc";
  InputChecksum started(file);
  EXPECT_EQ(started.path(), file);
  EXPECT_EQ(started.get(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
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
  EXPECT_EQ(platform::sha256_file(file, stop.get_token()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  stop.request_stop();
  EXPECT_EQ(platform::sha256_file(file, stop.get_token()), std::nullopt);
  { InputChecksum unasked(file); }  // joins its thread, asked to stop
}

}  // namespace
}  // namespace beamflow::jobs
