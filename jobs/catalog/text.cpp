#include "jobs/catalog/text.hpp"

#include <cctype>

namespace beamflow::catalog {
namespace {

bool digits(std::string_view s, std::size_t from, std::size_t n) {
  if (s.size() < from + n) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int num(std::string_view s, std::size_t from, std::size_t n) {
  int v = 0;
  for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

}  // namespace

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_iso_date(std::string_view s, bool with_time) {
  if (!digits(s, 0, 4)) return false;
  if (!with_time && s.size() == 4) return true;
  if (s.size() < 7 || s[4] != '-' || !digits(s, 5, 2)) return false;
  const int y = num(s, 0, 4), m = num(s, 5, 2);
  if (m < 1 || m > 12) return false;
  if (!with_time && s.size() == 7) return true;
  if (s.size() < 10 || s[7] != '-' || !digits(s, 8, 2)) return false;
  const int d = num(s, 8, 2);
  if (d < 1 || d > days_in(y, m)) return false;
  if (!with_time) return s.size() == 10;
  // T hh:mm:ss[.frac](Z|+hh:mm)
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2) || s[13] != ':' ||
      !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2))
    return false;
  if (num(s, 11, 2) > 23 || num(s, 14, 2) > 59 || num(s, 17, 2) > 60) return false;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(s, i + 1, 2) && s[i + 3] == ':' &&
         digits(s, i + 4, 2);
}

namespace {

// The one definition of a word (see text.hpp), as a table: each byte's
// lower-cased self where it is a word character (ASCII letters and digits,
// every byte >= 0x80), 0 where it separates words. A table read a byte
// instead of a call to the C library's isalnum and tolower (the "C" locale
// beamflow runs in: ASCII only) for every byte an ingest indexes.
struct WordTable {
  char fold[256];
  constexpr WordTable() : fold{} {
    for (int c = 0; c < 256; ++c) {
      const bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
      fold[c] = word ? static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) : '\0';
    }
  }
};
constexpr WordTable kWords;

char fold(char c) { return kWords.fold[static_cast<unsigned char>(c)]; }

// Hands `sink` each word of `s` as (start, length) in `s`.
template <class Sink>
void each_word(std::string_view s, Sink&& sink) {
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && !fold(s[i])) ++i;
    std::size_t end = i;
    while (end < s.size() && fold(s[end])) ++end;
    if (end > i) sink(i, end - i);
    i = end;
  }
}

// Appends `s`'s bytes [from, from + n) lower-cased to `out`.
void append_folded(std::string_view s, std::size_t from, std::size_t n, std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + n);
  for (std::size_t k = 0; k < n; ++k) out[at + k] = fold(s[from + k]);
}

}  // namespace

std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> out;
  each_word(s, [&](std::size_t from, std::size_t n) { append_folded(s, from, n, out.emplace_back()); });
  return out;
}

void append_tokens(std::string_view s, std::string& out) {
  each_word(s, [&](std::size_t from, std::size_t n) {
    if (!out.empty()) out += ' ';
    append_folded(s, from, n, out);
  });
}

void append_pg_lexeme(std::string_view token, std::string& out) {
  constexpr std::size_t kMaxLexeme = 2047;  // PostgreSQL's MAXSTRLEN
  if (token.size() > kMaxLexeme) {
    std::size_t n = kMaxLexeme;
    while (n > 0 && (static_cast<unsigned char>(token[n]) & 0xC0) == 0x80) --n;  // not inside a UTF-8 character
    token = token.substr(0, n);
  }
  out += '\'';
  for (char c : token) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  out += '\'';
}

std::optional<long long> iso_days(std::string_view s) {
  if (!is_iso_date(s.substr(0, std::min<std::size_t>(s.size(), 10)), false) &&
      !(s.size() > 10 && is_iso_date(s, true)))
    return std::nullopt;
  const int y = num(s, 0, 4);
  const int m = s.size() >= 7 ? num(s, 5, 2) : 1;
  const int d = s.size() >= 10 ? num(s, 8, 2) : 1;
  // Howard Hinnant's days_from_civil.
  const int yy = y - (m <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<long long>(era) * 146097 + static_cast<long long>(doe) - 719468;
}

}  // namespace beamflow::catalog
