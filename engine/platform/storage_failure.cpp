#include "platform/storage_failure.hpp"

#include <cerrno>
#include <system_error>

#include "core/error.hpp"

namespace beamflow::fs {

bool is_storage_errno(int err) noexcept {
  return err == ENOSPC || err == EDQUOT || err == EIO || err == EROFS;
}

bool is_storage_failure(const std::exception& e) noexcept {
  if (const auto* error = dynamic_cast<const Error*>(&e)) return is_storage_errno(error->system_errno());
  if (const auto* sys = dynamic_cast<const std::system_error*>(&e))
    return sys->code().category() == std::generic_category() || sys->code().category() == std::system_category()
               ? is_storage_errno(sys->code().value())
               : false;
  return false;
}

}  // namespace beamflow::fs
