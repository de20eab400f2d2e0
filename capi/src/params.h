// Reading versioned parameter structs: the caller's struct_size says how many bytes it knows;
// fields beyond that keep their defaults, so callers built against older headers keep working, and
// fields beyond what this library knows must be zero (refused otherwise, as libgit2 refuses an
// unknown options version).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

#include "guard.h"

namespace sp::capi {

template <class Params>
Params read_params(const Params* given, Params defaults, const char* name) {
  if (!given) return defaults;
  require(given->struct_size >= sizeof(std::size_t) + 1 && given->struct_size <= (1u << 16),
          std::string(name) + "->struct_size is " + std::to_string(given->struct_size) + "; set it with sizeof(" +
              name + ") or start from the sp_*_default_params() value");
  // A caller built against a newer header may pass a longer struct. Its extra fields are fine while
  // they hold zero (their default); a non-zero one asks for something this version cannot do.
  const auto* bytes = reinterpret_cast<const unsigned char*>(given);
  for (std::size_t offset = sizeof(Params); offset < given->struct_size; ++offset)
    require(bytes[offset] == 0, std::string(name) + " is " + std::to_string(given->struct_size) +
                                    " bytes and sets a field at byte " + std::to_string(offset) + ", beyond the " +
                                    std::to_string(sizeof(Params)) +
                                    " bytes this version of softprompt knows; upgrade the library or leave it zero");
  std::memcpy(&defaults, given, given->struct_size < sizeof(Params) ? given->struct_size : sizeof(Params));
  defaults.struct_size = sizeof(Params);
  return defaults;
}

// A versioned struct with struct_size set and every other field zero: the start of every
// sp_*_default_params() and *_init() value.
template <class Struct>
Struct sized() {
  Struct value{};
  value.struct_size = sizeof(Struct);
  return value;
}

// Copies the fields of `full` that fit into the caller's struct (whose struct_size the caller set).
template <class Result>
void write_result(Result* destination, const Result& full, const char* name) {
  require(destination->struct_size >= sizeof(std::size_t) && destination->struct_size <= (1u << 16),
          std::string(name) + "->struct_size must be set to sizeof(" + name + ")");
  const std::size_t size = destination->struct_size < sizeof(Result) ? destination->struct_size : sizeof(Result);
  const std::size_t caller_size = destination->struct_size;
  std::memcpy(destination, &full, size);
  destination->struct_size = caller_size;
}

}  // namespace sp::capi
