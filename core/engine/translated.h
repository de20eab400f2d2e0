// LibTorch's errors as sp::Error, for the engine's entry points (engine.cpp, context.cpp).
#pragma once

#include <c10/util/Exception.h>

#include <string>

#include "util/errors.h"

namespace sp::engine {

// Runs `body`, turning LibTorch's errors into sp::Error so that nothing above the engine needs
// LibTorch's headers. LibTorch's CPU allocator reports a failed allocation as a plain c10::Error
// (an enforce in c10/core/impl/alloc_cpu.cpp), and a size whose byte count overflows likewise:
// both are out-of-memory conditions. what() carries a multi-line C++ backtrace; callers want the
// message.
template <class Body>
auto translated(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::OutOfMemoryError& error) {
    fail(ErrorKind::OutOfMemory, error.what_without_backtrace());
  } catch (const c10::Error& error) {
    const std::string& message = error.msg();
    const bool out_of_memory = message.find("DefaultCPUAllocator: can't allocate memory") != std::string::npos ||
                               message.find("Storage size calculation overflowed") != std::string::npos;
    fail(out_of_memory ? ErrorKind::OutOfMemory : ErrorKind::Backend, error.what_without_backtrace());
  }
}

}  // namespace sp::engine
