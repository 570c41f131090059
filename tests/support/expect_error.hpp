#pragma once
// The assertion every error test needs: `f` throws a beamflow::Error with
// this id, whose text mentions each of `mentions`.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace beamflow::test {

inline void expect_error(const std::function<void()>& f, const std::string& id,
                         const std::vector<std::string>& mentions = {}) {
  try {
    f();
    ADD_FAILURE() << "expected error " << id << ", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    for (const auto& m : mentions)
      EXPECT_NE(std::string(e.what()).find(m), std::string::npos) << "'" << m << "' not in: " << e.what();
  }
}

}  // namespace beamflow::test
