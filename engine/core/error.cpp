#include "core/error.hpp"

namespace beamflow {

Error::Error(std::string id, std::string asl_name, std::string message, Context context,
             bool retryable)
    : std::runtime_error(""),
      m_id(std::move(id)),
      m_asl_name(std::move(asl_name)),
      m_message(std::move(message)),
      m_context(std::move(context)),
      m_retryable(retryable) {
  render();
}

Error& Error::with(std::string key, std::string value) {
  m_context.emplace_back(std::move(key), std::move(value));
  render();
  return *this;
}

void Error::render() {
  m_what = "[" + m_id + "] " + m_message;
  if (!m_context.empty()) {
    m_what += " (";
    for (std::size_t i = 0; i < m_context.size(); ++i) {
      if (i) m_what += ", ";
      m_what += m_context[i].first + "=" + m_context[i].second;
    }
    m_what += ")";
  }
}

}  // namespace beamflow
