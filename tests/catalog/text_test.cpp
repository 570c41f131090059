// The one definition of a word both catalog backends index (text.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/catalog/text.hpp"

namespace beamflow::catalog {
namespace {

using Words = std::vector<std::string>;

TEST(CatalogText, WordsAreRunsOfAsciiLettersDigitsAndBytesFrom0x80LowerCasedInAscii) {
  EXPECT_EQ(tokens("Steel FATIGUE, 2-BM_42x"), (Words{"steel", "fatigue", "2", "bm", "42x"}));
  // Bytes >= 0x80 are letters and keep their case: UTF-8 words stay whole.
  EXPECT_EQ(tokens("Na\xc3\xafve \xc3\x89mile"), (Words{"na\xc3\xafve", "\xc3\x89mile"}));
  EXPECT_EQ(tokens(std::string("a\0b\x01" "c\x7f" "D", 8)), (Words{"a", "b", "c", "d"}));
  EXPECT_EQ(tokens("  ...  "), Words{});
  // Every ASCII byte that is not a letter or a digit separates words.
  for (int c = 1; c < 0x80; ++c) {
    const bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!word) {
      EXPECT_EQ(tokens(std::string("x") + static_cast<char>(c) + "y"), (Words{"x", "y"})) << c;
    }
  }
}

TEST(CatalogText, AppendedTokensAreJoinedBySpacesAfterWhatIsThere) {
  std::string out;
  append_tokens("", out);
  EXPECT_EQ(out, "");
  append_tokens("Hello, World", out);
  EXPECT_EQ(out, "hello world");
  append_tokens("--X9--", out);
  EXPECT_EQ(out, "hello world x9");
}

}  // namespace
}  // namespace beamflow::catalog
