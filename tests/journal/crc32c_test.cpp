#include <gtest/gtest.h>

#include <random>
#include <string_view>

#include "journal/journal.hpp"
#include "journal_test_support.hpp"

namespace beamflow::journal {
namespace {

using test::Bytes;

std::uint32_t crc_of(std::string_view s) {
  return crc32c(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Bit-at-a-time CRC-32C, the definition the table version must match.
std::uint32_t reference_crc(const std::uint8_t* p, std::size_t n) {
  std::uint32_t crc = ~0u;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

TEST(Crc32c, CheckValue) { EXPECT_EQ(crc_of("123456789"), 0xE3069283u); }

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(crc32c(nullptr, 0), 0u); }

// RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  Bytes zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), up.size()), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), down.size()), 0x113FDB5Cu);
}

TEST(Crc32c, MatchesBitwiseReferenceAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  Bytes data(400);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t n = 0; n + offset <= 300; ++n) {
      ASSERT_EQ(crc32c(data.data() + offset, n), reference_crc(data.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
}

TEST(Crc32c, SeedChainsAcrossSplits) {
  const std::string_view s = "the quick brown fox jumps over the lazy dog, twice over";
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  for (std::size_t split = 0; split <= s.size(); ++split)
    EXPECT_EQ(crc32c(p + split, s.size() - split, crc32c(p, split)), crc_of(s)) << split;
}

}  // namespace
}  // namespace beamflow::journal
