#pragma once
// Persistent identifiers. The catalog asks a Minter for a new identifier
// from a sequence number it has already made durable, so a number (and the
// identifier made from it) is never handed out twice, even when a publish
// dies right after minting: gaps are allowed, reuse is not.
//
// The built-in minter makes ARKs the way NOID does:
//   ark:/NAAN/SHOULDER + betanumeric(n) + check character
// where the check character (NOID's algorithm, over "NAAN/SHOULDER...")
// catches any single mistyped character and any transposition of two.
// A DOI minter (DataCite's REST API) can implement the same interface.
#include <cstdint>
#include <memory>
#include <string>

namespace beamflow::catalog {

class Minter {
 public:
  virtual ~Minter() = default;
  // DataCite identifierType: "ARK", "DOI".
  virtual std::string identifier_type() const = 0;
  // Key of the catalog's sequence this minter draws from (one per prefix).
  virtual std::string sequence_name() const = 0;
  virtual std::string mint(std::int64_t sequence) const = 0;
};

class ArkMinter : public Minter {
 public:
  // prefix: "ark:/NAAN/SHOULDER" (or "NAAN/SHOULDER"); the shoulder may be
  // empty. Throws dataset.identifier.invalid for a malformed prefix.
  explicit ArkMinter(const std::string& prefix);
  std::string identifier_type() const override { return "ARK"; }
  std::string sequence_name() const override { return "ark:/" + m_base; }
  std::string mint(std::int64_t sequence) const override;

 private:
  std::string m_base;  // "NAAN/SHOULDER"
};

// The default prefix: $BEAMFLOW_ARK_PREFIX, else "ark:/99999/bf" (99999 is
// the NAAN reserved for examples and tests).
std::string default_ark_prefix();
std::unique_ptr<Minter> make_default_minter();

// NOID check character of `s` (the part after "ark:/").
char noid_check_char(const std::string& s);

struct ParsedIdentifier {
  std::string type;   // "ARK" or "DOI"
  std::string value;  // canonical: "ark:/12345/x7" or "10.1234/abc"
};

// Accepts ark:/NAAN/NAME, ark:NAAN/NAME, doi:10.X/Y, 10.X/Y and
// https://doi.org/10.X/Y. An ARK whose name begins with the shoulder of
// `check_prefix` must carry a valid check character. Throws
// dataset.identifier.invalid naming `field`.
ParsedIdentifier parse_identifier(const std::string& text, const std::string& field,
                                  const std::string& check_prefix = default_ark_prefix());

}  // namespace beamflow::catalog
