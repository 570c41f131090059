// Replays the fuzzer's corpus (tests/fuzz/corpus) through the same entry
// point, so every input the fuzzer ever found interesting stays a regression
// test in CI, where clang's libFuzzer is not used.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_one.hpp"

TEST(FuzzCorpus, EveryCorpusInputIsHandled) {
  const std::filesystem::path dir = std::filesystem::path(BEAMFLOW_SOURCE_DIR) / "tests/fuzz/corpus";
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_NO_THROW(beamflow::fuzz::fuzz_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    ++n;
  }
  EXPECT_GT(n, 50u) << "the corpus should hold the fuzzer's findings";
}
