#include "lang/detail/text.hpp"

#include "lang/detail/limits.hpp"

namespace beamflow::lang::detail {

std::optional<char32_t> next_code_point(std::string_view text, std::size_t& pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t extra = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    ++pos;
    return std::nullopt;
  }
  if (pos + extra >= text.size()) {
    ++pos;
    return std::nullopt;
  }
  for (std::size_t i = 1; i <= extra; ++i) {
    const unsigned char c = byte(pos + i);
    if ((c & 0xC0) != 0x80) {
      ++pos;
      return std::nullopt;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return std::nullopt;
  }
  pos += extra + 1;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t start = pos;
    if (next_code_point(bytes, pos))
      out.append(bytes.substr(start, pos - start));
    else
      append_utf8(out, 0xFFFD);
  }
  return out;
}

std::size_t utf16_length(std::string_view text) noexcept {
  std::size_t units = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto cp = next_code_point(text, pos);
    units += (cp && *cp >= 0x10000) ? 2 : 1;
  }
  return units;
}

namespace {

// The UTF-16 code units of one code point. A bad byte sorts as U+FFFD, the
// character Java would have decoded it to.
struct Units {
  char16_t unit[2];
  int count;
};

Units to_utf16(std::optional<char32_t> cp) noexcept {
  const char32_t c = cp.value_or(0xFFFD);
  if (c < 0x10000) return {{static_cast<char16_t>(c), 0}, 1};
  const char32_t v = c - 0x10000;
  return {{static_cast<char16_t>(0xD800 + (v >> 10)), static_cast<char16_t>(0xDC00 + (v & 0x3FF))},
          2};
}

}  // namespace

int compare_utf16(std::string_view a, std::string_view b) noexcept {
  std::size_t pa = 0;
  std::size_t pb = 0;
  while (pa < a.size() && pb < b.size()) {
    const Units ua = to_utf16(next_code_point(a, pa));
    const Units ub = to_utf16(next_code_point(b, pb));
    // Equal first units imply equal lengths: a lone unit is never a surrogate.
    for (int i = 0; i < ua.count; ++i) {
      if (ua.unit[i] != ub.unit[i]) return ua.unit[i] < ub.unit[i] ? -1 : 1;
    }
  }
  if (pa < a.size()) return 1;
  if (pb < b.size()) return -1;
  return 0;
}

namespace {

// Cuts at a character boundary no later than kMaxQuoted bytes.
std::string excerpt(std::string_view text) {
  if (text.size() <= kMaxQuoted) return std::string(text);
  std::size_t cut = kMaxQuoted;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

}  // namespace

std::string quoted(std::string_view text) { return "'" + excerpt(text) + "'"; }

std::string json_excerpt(const Json& value) {
  return excerpt(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace beamflow::lang::detail
