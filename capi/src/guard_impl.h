// guard() is a template, so its body lives in a header. It sees only the core's typed errors
// (sp::Error): the engine translates LibTorch's own, so nothing here includes LibTorch.
#pragma once

#include <new>
#include <stdexcept>

#include "util/errors.h"

namespace sp::capi {

// A NULL-free but dead or foreign handle: reported as SP_ERR_INVALID_HANDLE.
struct HandleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

sp_status status_for(ErrorKind kind) noexcept;

template <class Body>
sp_status guard(Body&& body) noexcept {
  try {
    clear_error();
    body();
    return SP_OK;
  } catch (const HandleError& error) {
    return set_error(SP_ERR_INVALID_HANDLE, error.what());
  } catch (const sp::Error& error) {
    return set_error(status_for(error.kind()), error.what());
  } catch (const std::bad_alloc&) {
    return set_error(SP_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& error) {
    return set_error(SP_ERR_INTERNAL, error.what());
  } catch (...) {
    return set_error(SP_ERR_INTERNAL, "unknown C++ exception");
  }
}

}  // namespace sp::capi
