#include "lang/detail/scanner.hpp"

#include "core/error.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang::detail {

void Scanner::fail(const std::string& what, std::size_t at) const {
  throw Error(m_id, m_asl,
              std::string(m_noun) + " " + quoted(m_text) + ": " + what +
                  (at < m_text.size() ? " at offset " + std::to_string(at) : ""));
}

}  // namespace beamflow::lang::detail
