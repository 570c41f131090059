#pragma once
// Text helpers shared by the flow language: UTF-8 decoding with Java's
// semantics where AWS Step Functions (a Java service) exposes them — string
// length in UTF-16 units, String.compareTo order, U+FFFD for bad bytes — and
// short quoted excerpts for error messages.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace beamflow::lang::detail {

// Decodes one code point at `pos` and advances past it. On an invalid or
// truncated sequence returns nullopt and advances by one byte.
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& pos) noexcept;

void append_utf8(std::string& out, char32_t cp);

// Bytes to text as Java's UTF-8 decoder does: each bad byte becomes U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

// Java String.length(): UTF-16 code units (a bad byte counts as one).
std::size_t utf16_length(std::string_view text) noexcept;

// Java String.compareTo: lexicographic over UTF-16 code units. Differs from
// byte order only between U+E000..U+FFFF and supplementary characters.
int compare_utf16(std::string_view a, std::string_view b) noexcept;

// 'text' in single quotes, cut to kMaxQuoted bytes (at a character boundary)
// with "..." when longer. For error messages.
std::string quoted(std::string_view text);

// A JSON value as compact text, cut like quoted() but without quotes.
std::string json_excerpt(const Json& value);

}  // namespace beamflow::lang::detail
