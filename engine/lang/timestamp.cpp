// RFC 3339 timestamps for Choice rules and Wait states, compared as instants.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lang/choice.hpp"

namespace beamflow::lang {
namespace {

// Fixed-width decimal field at `pos`; nullopt if any character is no digit.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<Instant> parse_instant(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS
  const auto year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2);
  const auto hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month))
    return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 59) return std::nullopt;

  std::size_t pos = 19;
  int nanos = 0;
  if (pos < t.size() && t[pos] == '.') {
    const std::size_t first = ++pos;
    int scale = 100000000;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      nanos += (t[pos] - '0') * scale;  // digits past nanoseconds are dropped
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }

  int offset_minutes = 0;
  if (pos < t.size() && t[pos] == 'Z') {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    const auto oh = digits(t, pos + 1, 2), om = digits(t, pos + 4, 2);
    if (!oh || !om || pos + 3 >= t.size() || t[pos + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_minutes = (*oh * 60 + *om) * (t[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;

  const long long days = days_from_civil(*year, *month, *day);
  const long long local = days * 86400 + *hour * 3600 + *minute * 60 + *second;
  return Instant{local - offset_minutes * 60LL, nanos};
}

std::optional<long long> parse_timestamp(std::string_view text) {
  const auto instant = parse_instant(text);
  if (!instant) return std::nullopt;
  long long ns = 0;
  if (__builtin_mul_overflow(instant->seconds, 1000000000LL, &ns) ||
      __builtin_add_overflow(ns, static_cast<long long>(instant->nanos), &ns)) {
    return std::nullopt;
  }
  return ns;
}

}  // namespace beamflow::lang
