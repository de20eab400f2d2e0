// Typed errors thrown by the core. The C ABI maps each kind to one status code;
// the core itself knows nothing of status codes or handles.
#pragma once

#include <stdexcept>
#include <string>

namespace sp {

enum class ErrorKind {
  InvalidArgument,  // a value the caller passed is out of range or inconsistent
  NotFound,         // a file, folder or named tensor does not exist
  Io,               // reading or writing failed for another reason
  Format,           // a file exists but its content is malformed
  Unsupported,      // a valid request this library does not implement (e.g. a model_type)
  ShapeMismatch,    // tensors or buffers whose shapes do not fit together
  OutOfRange,       // token ids outside the vocabulary, task ids past num_tasks
  Device,           // the requested device is not available
  ModelMismatch,    // an adapter file made for another base model
  OutOfMemory,      // a request whose tensors cannot fit in this machine's memory
  BufferTooSmall,   // a caller's output buffer smaller than the result
  Backend,          // the tensor library (LibTorch) reported an error (engine/ translates them)
  Internal,         // a broken invariant inside the library
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

}  // namespace sp
