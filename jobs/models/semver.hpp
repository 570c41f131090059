#pragma once
// Semantic versions (semver.org 2.0: MAJOR.MINOR.PATCH[-PRERELEASE]) and
// their precedence, so `NAME` without @VERSION means the highest release.
// Build metadata ("+...") is refused: two directories whose versions differ
// only there would have the same precedence.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamflow::models {

struct SemVer {
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers
  std::string text;                     // as written

  // nullopt unless `s` is a semantic version.
  static std::optional<SemVer> parse(std::string_view s);
  // Precedence: numbers, then a release above its prereleases, then the
  // prerelease identifiers (numeric ones numerically, below alphanumeric).
  friend std::strong_ordering operator<=>(const SemVer& a, const SemVer& b);
  friend bool operator==(const SemVer& a, const SemVer& b) { return (a <=> b) == 0; }
};

}  // namespace beamflow::models
