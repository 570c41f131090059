// libFuzzer entry point (clang -fsanitize=fuzzer); see tests/fuzz/README.md.
#include "fuzz_one.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  beamflow::fuzz::fuzz_one(data, size);
  return 0;
}
