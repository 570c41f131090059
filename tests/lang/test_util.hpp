#pragma once
// Shared helpers for the flow-language tests.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/json.hpp"
#include "lang/problems.hpp"

namespace beamflow::lang::test {

inline Json J(const char* text) { return Json::parse(text); }

// Runs `fn`, expecting a beamflow::Error with this id and ASL name whose
// message contains `fragment`.
template <class Fn>
void expect_error(Fn&& fn, const std::string& id, const std::string& asl,
                  const std::string& fragment) {
  try {
    std::forward<Fn>(fn)();
    ADD_FAILURE() << "expected error " << id << " containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.id(), id) << e.what();
    EXPECT_EQ(e.asl_name(), asl) << e.what();
    EXPECT_NE(e.message().find(fragment), std::string::npos)
        << "message \"" << e.message() << "\" lacks \"" << fragment << "\"";
    EXPECT_NE(std::string(e.what()).find("[" + id + "]"), std::string::npos) << e.what();
  }
}

// True when some problem's message contains `fragment` (and, when given, its
// pointer equals `pointer`).
inline ::testing::AssertionResult has_problem(const Problems& problems, const std::string& fragment,
                                              const std::string& pointer = "") {
  std::string seen;
  for (const auto& p : problems.items()) {
    if (p.message.find(fragment) != std::string::npos &&
        (pointer.empty() || p.pointer == pointer)) {
      return ::testing::AssertionSuccess();
    }
    seen += "\n  " + p.pointer + ": " + p.message;
  }
  return ::testing::AssertionFailure() << "no problem with \"" << fragment << "\" at \"" << pointer
                                       << "\"; problems:" << (seen.empty() ? " none" : seen);
}

}  // namespace beamflow::lang::test
