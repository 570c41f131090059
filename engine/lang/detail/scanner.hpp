#pragma once
// A cursor over expression text (paths, intrinsics) with the error reporting
// their parsers share: "<noun> '<text>': <what> at offset N".
#include <cstddef>
#include <string>
#include <string_view>

namespace beamflow::lang::detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Scanner {
 public:
  // `noun` starts the message ("Invalid path"); `id` and `asl` name the Error.
  Scanner(std::string_view text, const char* id, const char* asl, const char* noun)
      : m_text(text), m_id(id), m_asl(asl), m_noun(noun) {}

  [[noreturn]] void fail(const std::string& what, std::size_t at) const;
  [[noreturn]] void fail_here(const std::string& what) const { fail(what, m_pos); }

  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return at_end() ? '\0' : m_text[m_pos]; }
  bool consume(char c) {
    if (at_end() || m_text[m_pos] != c) return false;
    ++m_pos;
    return true;
  }
  void skip_space() {
    while (!at_end() && is_space(m_text[m_pos])) ++m_pos;
  }

 protected:
  std::string_view m_text;
  std::size_t m_pos = 0;

 private:
  const char* m_id;
  const char* m_asl;
  const char* m_noun;
};

}  // namespace beamflow::lang::detail
