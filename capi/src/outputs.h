// The size protocol of the C API's variable-length outputs (text, id lists): the full size always
// goes to *size or *count; the result is written only when the caller's buffer holds it, else
// SP_ERR_BUFFER_TOO_SMALL and nothing is written.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "guard.h"
#include "util/errors.h"

namespace sp::capi {

// `text` and a NUL after it into out[capacity]; *size = text bytes without the NUL.
inline void write_text(const std::string& text, char* out, size_t capacity, size_t* size) {
  *size = text.size();
  if (!out || capacity < text.size() + 1)
    fail(ErrorKind::BufferTooSmall, "the text is " + std::to_string(text.size()) + " bytes and needs a buffer of " +
                                        std::to_string(text.size() + 1) + " (NUL included); capacity is " +
                                        std::to_string(capacity));
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
}

// `ids` into out[capacity]; *count = their number (a NULL `out` is too small even for none). `what` names them in the
// message ("the text encodes to").
inline void write_ids(const std::vector<int32_t>& ids, int32_t* out, size_t capacity, size_t* count,
                      const std::string& what) {
  *count = ids.size();
  if (!out || capacity < ids.size())
    fail(ErrorKind::BufferTooSmall,
         what + " " + std::to_string(ids.size()) + " ids; capacity is " + std::to_string(capacity));
  std::memcpy(out, ids.data(), ids.size() * sizeof(int32_t));
}

}  // namespace sp::capi
