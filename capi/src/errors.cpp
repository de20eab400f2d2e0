#include <string>

#include "guard.h"

namespace sp::capi {

namespace {
thread_local std::string last_error;
thread_local sp_status last_status = SP_OK;
}  // namespace

sp_status set_error(sp_status status, const std::string& message) noexcept {
  last_status = status;
  try {
    last_error = message;
  } catch (...) {
    last_error.clear();  // keep the status even if the message cannot be stored
  }
  return status;
}

void clear_error() noexcept {
  last_error.clear();
  last_status = SP_OK;
}

void require(bool condition, const std::string& message) {
  if (!condition) fail(ErrorKind::InvalidArgument, message);
}

sp_status status_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument:
      return SP_ERR_INVALID_ARGUMENT;
    case ErrorKind::NotFound:
      return SP_ERR_NOT_FOUND;
    case ErrorKind::Io:
      return SP_ERR_IO;
    case ErrorKind::Format:
      return SP_ERR_FORMAT;
    case ErrorKind::Unsupported:
      return SP_ERR_UNSUPPORTED;
    case ErrorKind::ShapeMismatch:
      return SP_ERR_SHAPE_MISMATCH;
    case ErrorKind::OutOfRange:
      return SP_ERR_OUT_OF_RANGE;
    case ErrorKind::Device:
      return SP_ERR_DEVICE;
    case ErrorKind::ModelMismatch:
      return SP_ERR_MODEL_MISMATCH;
    case ErrorKind::OutOfMemory:
      return SP_ERR_OUT_OF_MEMORY;
    case ErrorKind::BufferTooSmall:
      return SP_ERR_BUFFER_TOO_SMALL;
    case ErrorKind::Backend:
      return SP_ERR_BACKEND;
    case ErrorKind::Internal:
      return SP_ERR_INTERNAL;
  }
  return SP_ERR_INTERNAL;
}

}  // namespace sp::capi

extern "C" {

const char* sp_last_error(void) noexcept { return sp::capi::last_error.c_str(); }

sp_status sp_last_status(void) noexcept { return sp::capi::last_status; }

const char* sp_status_string(sp_status status) noexcept {
  switch (status) {
    case SP_OK:
      return "SP_OK";
    case SP_ERR_INVALID_ARGUMENT:
      return "SP_ERR_INVALID_ARGUMENT";
    case SP_ERR_INVALID_HANDLE:
      return "SP_ERR_INVALID_HANDLE";
    case SP_ERR_NOT_FOUND:
      return "SP_ERR_NOT_FOUND";
    case SP_ERR_IO:
      return "SP_ERR_IO";
    case SP_ERR_FORMAT:
      return "SP_ERR_FORMAT";
    case SP_ERR_UNSUPPORTED:
      return "SP_ERR_UNSUPPORTED";
    case SP_ERR_SHAPE_MISMATCH:
      return "SP_ERR_SHAPE_MISMATCH";
    case SP_ERR_OUT_OF_RANGE:
      return "SP_ERR_OUT_OF_RANGE";
    case SP_ERR_BUFFER_TOO_SMALL:
      return "SP_ERR_BUFFER_TOO_SMALL";
    case SP_ERR_DEVICE:
      return "SP_ERR_DEVICE";
    case SP_ERR_BACKEND:
      return "SP_ERR_BACKEND";
    case SP_ERR_OUT_OF_MEMORY:
      return "SP_ERR_OUT_OF_MEMORY";
    case SP_ERR_INTERNAL:
      return "SP_ERR_INTERNAL";
    case SP_ERR_MODEL_MISMATCH:
      return "SP_ERR_MODEL_MISMATCH";
  }
  return "SP_ERR_UNKNOWN";
}

}  // extern "C"
