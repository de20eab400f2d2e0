// The wall between C callers and the C++ core: every entry point runs its body inside guard(),
// which turns every exception into a status and a thread-local message.
#pragma once

#include <string>

#include "softprompt/softprompt.h"

namespace sp::capi {

// Records the failure for sp_last_error() and returns `status`.
sp_status set_error(sp_status status, const std::string& message) noexcept;
void clear_error() noexcept;

// Runs `body` (returning void); maps any exception to a status.
template <class Body>
sp_status guard(Body&& body) noexcept;

// Argument checks used by every entry point; they throw sp::Error(InvalidArgument) with the name.
void require(bool condition, const std::string& message);
template <class T>
void require_not_null(const T* pointer, const char* name) {
  require(pointer != nullptr, std::string(name) + " must not be NULL");
}

}  // namespace sp::capi

#include "guard_impl.h"
