#include "kernels/common/error.hpp"

#include <utility>

namespace beamflow::kernels {

Error::Error(std::string id, std::string where, std::string message)
    : std::runtime_error("[" + id + "] " + where + ": " + message),
      m_id(std::move(id)),
      m_where(std::move(where)),
      m_message(std::move(message)) {}

}  // namespace beamflow::kernels
