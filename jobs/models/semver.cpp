#include "jobs/models/semver.hpp"

#include <algorithm>
#include <cctype>

namespace beamflow::models {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A numeric identifier: digits, no leading zero, fits 64 bits.
std::optional<std::uint64_t> number(std::string_view s) {
  if (!all_digits(s) || (s.size() > 1 && s[0] == '0') || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

bool identifier(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = s.find(sep, begin);
    out.push_back(s.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
    if (end == std::string_view::npos) return out;
    begin = end + 1;
  }
}

}  // namespace

std::optional<SemVer> SemVer::parse(std::string_view s) {
  if (s.size() > 64) return std::nullopt;
  SemVer v;
  v.text = std::string(s);
  const std::size_t dash = s.find('-');
  const auto core = split(s.substr(0, dash), '.');
  if (core.size() != 3) return std::nullopt;
  auto ma = number(core[0]), mi = number(core[1]), pa = number(core[2]);
  if (!ma || !mi || !pa) return std::nullopt;
  v.major = *ma;
  v.minor = *mi;
  v.patch = *pa;
  if (dash != std::string_view::npos) {
    for (auto id : split(s.substr(dash + 1), '.')) {
      if (!identifier(id) || (all_digits(id) && !number(id))) return std::nullopt;
      v.prerelease.emplace_back(id);
    }
  }
  return v;
}

std::strong_ordering operator<=>(const SemVer& a, const SemVer& b) {
  if (auto c = a.major <=> b.major; c != 0) return c;
  if (auto c = a.minor <=> b.minor; c != 0) return c;
  if (auto c = a.patch <=> b.patch; c != 0) return c;
  if (a.prerelease.empty() || b.prerelease.empty()) return b.prerelease.size() <=> a.prerelease.size();
  for (std::size_t i = 0; i < std::min(a.prerelease.size(), b.prerelease.size()); ++i) {
    const auto& x = a.prerelease[i];
    const auto& y = b.prerelease[i];
    const bool nx = all_digits(x), ny = all_digits(y);
    if (nx && ny) {
      if (auto c = *number(x) <=> *number(y); c != 0) return c;
    } else if (nx != ny) {
      return nx ? std::strong_ordering::less : std::strong_ordering::greater;
    } else if (auto c = x.compare(y) <=> 0; c != 0) {
      return c;
    }
  }
  return a.prerelease.size() <=> b.prerelease.size();
}

}  // namespace beamflow::models
