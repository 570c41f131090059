#include "jobs/catalog/identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>

#include "jobs/catalog/errors.hpp"

namespace beamflow::catalog {
namespace {

std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return std::to_string(uid);  // a uid without a passwd entry (containers)
}

std::string group_name(gid_t gid) {
  if (const group* gr = ::getgrgid(gid)) return gr->gr_name;
  return std::to_string(gid);
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == '$';
  });
}

}  // namespace

std::vector<std::string> Identity::principals() const {
  std::vector<std::string> p{"public"};
  if (!user.empty()) p.push_back("user:" + user);
  for (const auto& g : groups) p.push_back("group:" + g);
  return p;
}

Identity current_identity() {
  Identity id;
  const uid_t uid = ::getuid();
  id.user = user_name(uid);
  id.admin = uid == 0;
  std::vector<gid_t> gids(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
  const int n = ::getgroups(static_cast<int>(gids.size()), gids.data());
  gids.resize(static_cast<std::size_t>(std::max(0, n)));
  gids.push_back(::getgid());
  std::sort(gids.begin(), gids.end());
  gids.erase(std::unique(gids.begin(), gids.end()), gids.end());
  for (gid_t g : gids) id.groups.push_back(group_name(g));
  return id;
}

std::string normalise_principal(const std::string& entry, const std::string& field) {
  if (entry == "public") return entry;
  std::string kind = "user", name = entry;
  if (const auto colon = entry.find(':'); colon != std::string::npos) {
    kind = entry.substr(0, colon);
    name = entry.substr(colon + 1);
  }
  if ((kind != "user" && kind != "group") || !valid_name(name))
    invalid("dataset.metadata.invalid", field,
            "'" + entry + "' is not public, user:NAME or group:NAME");
  return kind + ":" + name;
}

}  // namespace beamflow::catalog
