// FNV-1a, 64 bit: a cheap, stable fingerprint for identifying data (not a cryptographic hash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sp {

class Fingerprint {
 public:
  void add(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      state_ ^= bytes[i];
      state_ *= 0x100000001b3ull;
    }
  }
  void add(const std::string& text) { add(text.data(), text.size()); }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(state_));
    return text;
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ull;
};

}  // namespace sp
