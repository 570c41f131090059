#pragma once
// Who is asking. The catalog takes the caller's identity as a value, so a
// facility service can pass the user it authenticated and tests can play
// any user; the command line passes the real uid and groups.
#include <string>
#include <vector>

namespace beamflow::catalog {

struct Identity {
  std::string user;                 // Unix user name
  std::vector<std::string> groups;  // Unix group names
  bool admin = false;               // sees and curates everything (root on the CLI)

  // The visibility principals this identity holds: "public", "user:NAME",
  // "group:NAME" for each group.
  std::vector<std::string> principals() const;
};

// The real user of this process (getuid) and its groups (getgroups plus the
// primary group); admin when uid 0.
Identity current_identity();

// Normalises one visible_to entry: "public", "user:NAME", "group:NAME".
// A bare name means a user. Throws dataset.metadata.invalid naming
// `field` for anything else.
std::string normalise_principal(const std::string& entry, const std::string& field);

}  // namespace beamflow::catalog
