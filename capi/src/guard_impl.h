// guard() is a template, so its body lives in a header; it needs only the narrowest LibTorch
// header (for c10::Error), never torch/torch.h.
#pragma once

#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>

#include "util/errors.h"

namespace sp::capi {

// A NULL-free but dead or foreign handle: reported as SP_ERR_INVALID_HANDLE.
struct HandleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An output buffer too small for the result: reported as SP_ERR_BUFFER_TOO_SMALL.
struct BufferTooSmall : std::runtime_error {
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
  } catch (const BufferTooSmall& error) {
    return set_error(SP_ERR_BUFFER_TOO_SMALL, error.what());
  } catch (const sp::Error& error) {
    return set_error(status_for(error.kind()), error.what());
  } catch (const c10::OutOfMemoryError& error) {
    return set_error(SP_ERR_OUT_OF_MEMORY, error.what_without_backtrace());
  } catch (const c10::Error& error) {
    // what() carries a multi-line C++ backtrace; callers want the message. LibTorch's CPU allocator
    // reports a failed allocation as a plain c10::Error (an enforce in c10/core/impl/alloc_cpu.cpp),
    // and a size whose byte count overflows likewise: both are out-of-memory conditions.
    const std::string& message = error.msg();
    if (message.find("DefaultCPUAllocator: can't allocate memory") != std::string::npos ||
        message.find("Storage size calculation overflowed") != std::string::npos)
      return set_error(SP_ERR_OUT_OF_MEMORY, error.what_without_backtrace());
    return set_error(SP_ERR_BACKEND, error.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return set_error(SP_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& error) {
    return set_error(SP_ERR_INTERNAL, error.what());
  } catch (...) {
    return set_error(SP_ERR_INTERNAL, "unknown C++ exception");
  }
}

}  // namespace sp::capi
