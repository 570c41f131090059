#pragma once
// The one exception kernels/ throws. Kernels cannot see engine headers, so
// jobs/ catches this and rethrows beamflow::Error with the same id; the ids
// are listed here (so a typo cannot invent one) and in docs/errors.md.
#include <stdexcept>
#include <string>

namespace beamflow::kernels {

namespace error_id {
inline constexpr const char* Shape = "kernels.shape";        // View extents disagree
inline constexpr const char* Argument = "kernels.argument";  // a parameter out of range
inline constexpr const char* UnknownFilter = "kernels.filter.unknown";
inline constexpr const char* UnknownAlgorithm = "kernels.recon.unknown_algorithm";
inline constexpr const char* FlatDark =
    "kernels.preprocess.flat_dark";                             // no usable flat-dark pixel
inline constexpr const char* Angles = "kernels.center.angles";  // angles unusable for a method
inline constexpr const char* Fft = "kernels.fft.plan";          // FFTW could not plan
}  // namespace error_id

class Error : public std::runtime_error {
 public:
  // what() reads "[id] where: message".
  Error(std::string id, std::string where, std::string message);

  const std::string& id() const noexcept { return m_id; }
  const std::string& where() const noexcept { return m_where; }
  const std::string& message() const noexcept { return m_message; }

 private:
  std::string m_id;
  std::string m_where;
  std::string m_message;
};

}  // namespace beamflow::kernels
