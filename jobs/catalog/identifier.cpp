#include "jobs/catalog/identifier.hpp"

#include <cctype>
#include <cstdlib>

#include "jobs/catalog/errors.hpp"

namespace beamflow::catalog {
namespace {

// NOID's "betanumeric" alphabet: digits and consonants except l (looks like
// 1), so no word can be spelt by accident.
constexpr std::string_view kXdigits = "0123456789bcdfghjkmnpqrstvwxz";

std::string strip_scheme(const std::string& prefix) {
  std::string s = prefix;
  if (s.rfind("ark:/", 0) == 0) s = s.substr(5);
  else if (s.rfind("ark:", 0) == 0) s = s.substr(4);
  return s;
}

bool naan_ok(const std::string& naan) {
  if (naan.size() < 5 || naan.size() > 16) return false;
  for (char c : naan)
    if (kXdigits.find(c) == std::string_view::npos) return false;
  return true;
}

bool ark_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("=~*+@_$.-/").find(c) != std::string_view::npos;
}

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  invalid("dataset.identifier.invalid", field, what);
}

}  // namespace

char noid_check_char(const std::string& s) {
  std::size_t sum = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto ord = kXdigits.find(s[i]);
    if (ord != std::string_view::npos) sum += (i + 1) * ord;
  }
  return kXdigits[sum % kXdigits.size()];
}

ArkMinter::ArkMinter(const std::string& prefix) : m_base(strip_scheme(prefix)) {
  const auto slash = m_base.find('/');
  const std::string naan = m_base.substr(0, slash);
  const std::string shoulder = slash == std::string::npos ? "" : m_base.substr(slash + 1);
  if (!naan_ok(naan))
    bad("ark_prefix", "'" + prefix + "' needs a NAAN of 5 to 16 digits/betanumerics: ark:/NAAN/SHOULDER");
  for (char c : shoulder)
    if (kXdigits.find(c) == std::string_view::npos)
      bad("ark_prefix", "the shoulder of '" + prefix + "' may only use the characters " + std::string(kXdigits));
  m_base = naan + "/" + shoulder;
}

std::string ArkMinter::mint(std::int64_t sequence) const {
  if (sequence < 0) bad("sequence", "negative sequence number");
  std::string blade;
  auto n = static_cast<std::uint64_t>(sequence);
  do {
    blade.insert(blade.begin(), kXdigits[n % kXdigits.size()]);
    n /= kXdigits.size();
  } while (n);
  // At least four characters, so early identifiers do not look special.
  while (blade.size() < 4) blade.insert(blade.begin(), '0');
  const std::string body = m_base + blade;
  return "ark:/" + body + noid_check_char(body);
}

std::string default_ark_prefix() {
  if (const char* p = std::getenv("BEAMFLOW_ARK_PREFIX"); p && *p) return p;
  return "ark:/99999/bf";
}

std::unique_ptr<Minter> make_default_minter() { return std::make_unique<ArkMinter>(default_ark_prefix()); }

ParsedIdentifier parse_identifier(const std::string& text, const std::string& field,
                                  const std::string& check_prefix) {
  if (text.empty()) bad(field, "is empty");
  if (text.size() > 512) bad(field, "longer than 512 characters");
  std::string lower;
  for (char c : text.substr(0, 18)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* p : {"https://doi.org/", "http://doi.org/", "doi:"}) {
    if (lower.rfind(p, 0) == 0) return parse_identifier(text.substr(std::string_view(p).size()), field, check_prefix);
  }
  if (text.rfind("10.", 0) == 0) {
    const auto slash = text.find('/');
    if (slash == std::string::npos || slash == 3 || slash + 1 == text.size())
      bad(field, "'" + text + "' is not a DOI (10.PREFIX/SUFFIX)");
    for (std::size_t i = 3; i < slash; ++i)
      if (!std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.')
        bad(field, "'" + text + "' is not a DOI: the prefix after '10.' must be digits");
    for (char c : text)
      if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
        bad(field, "'" + text + "' contains white space");
    return {"DOI", text};
  }
  if (lower.rfind("ark:", 0) != 0) bad(field, "'" + text + "' is neither an ARK (ark:/NAAN/NAME) nor a DOI (10.X/Y)");
  const std::string body = strip_scheme(text);
  const auto slash = body.find('/');
  if (slash == std::string::npos || slash + 1 == body.size())
    bad(field, "'" + text + "' is not an ARK: ark:/NAAN/NAME");
  if (!naan_ok(body.substr(0, slash))) bad(field, "'" + text + "' has no valid NAAN (5 to 16 digits)");
  for (char c : body)
    if (!ark_name_char(c)) bad(field, "'" + text + "' contains '" + std::string(1, c) + "', not allowed in an ARK");
  const std::string ours = strip_scheme(check_prefix);
  if (!ours.empty() && body.rfind(ours, 0) == 0) {
    const std::string stem = body.substr(0, body.size() - 1);
    if (body.size() <= ours.size() || noid_check_char(stem) != body.back())
      bad(field, "'" + text + "' fails its check character (mistyped?)");
  }
  return {"ARK", "ark:/" + body};
}

}  // namespace beamflow::catalog
