#pragma once
// Static problems found in a flow definition, each located by the state it
// belongs to and a JSON pointer into the definition document.
#include <string>
#include <vector>

namespace beamflow::lang {

struct Problem {
  std::string pointer;  // RFC 6901 pointer into the definition, e.g. "/States/A/Next"
  std::string state;    // state name, empty for top-level problems
  std::string message;
};

class Problems {
 public:
  void add(std::string pointer, std::string state, std::string message) {
    m_items.push_back({std::move(pointer), std::move(state), std::move(message)});
  }
  bool empty() const noexcept { return m_items.empty(); }
  std::size_t size() const noexcept { return m_items.size(); }
  const std::vector<Problem>& items() const noexcept { return m_items; }

 private:
  std::vector<Problem> m_items;
};

// Appends a reference token to a JSON pointer, escaping '~' and '/'.
std::string pointer_append(const std::string& pointer, const std::string& token);
inline std::string pointer_append(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

}  // namespace beamflow::lang
