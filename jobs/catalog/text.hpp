#pragma once
// Small text helpers shared by metadata checking, indexing and query
// planning. Pure functions.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamflow::catalog {

std::size_t utf8_length(std::string_view s);
// YYYY, YYYY-MM or YYYY-MM-DD (with_time: an RFC 3339 date-time), with
// month and day in range.
bool is_iso_date(std::string_view s, bool with_time);
// The free-text tokens of `s` the way both backends index them: runs of
// letters and digits (every byte >= 0x80 counts as a letter, so UTF-8 words
// stay whole), lower-cased (ASCII). SQLite's unicode61 tokenizer and the
// tsvector built from the joined tokens then agree on what a word is.
std::vector<std::string> tokens(std::string_view s);
// The same tokens appended to `out`, each after a space when `out` is not
// empty (index_terms' joined text), without a string per token.
void append_tokens(std::string_view s, std::string& out);
// Appends `token` to `out` as a quoted PostgreSQL lexeme ('word', quotes
// and backslashes escaped), cut at a character boundary to the 2,047
// bytes a lexeme may have. Both the stored tsvector and the query's
// tsquery are written this way from the same tokens, so what is a word
// never depends on the server's parser or locale.
void append_pg_lexeme(std::string_view token, std::string& out);
// Days since 1970-01-01 of the date part of an ISO date ("2026-12" is the
// first of the month); nullopt when not a date.
std::optional<long long> iso_days(std::string_view s);

}  // namespace beamflow::catalog
