// What the C++ core suites share: cmocka (included last, see below), the models folder argument,
// expected sp::Error checks and public adapter parameters for one method.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "softprompt/softprompt.h"
#include "util/errors.h"

// cmocka last: it defines a fail() macro that would clash with sp::fail in the core's headers, so
// every suite includes this header after them.
// clang-format off
extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
}
// clang-format on

namespace core_test {

// The suites take one argument, the folder the `models` fixture writes. False (after printing the
// usage) when it is missing.
inline bool read_models_folder(int argc, char** argv, std::string& models_root) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <models-folder>\n", argv[0]);
    return false;
  }
  models_root = argv[1];
  return true;
}

// Runs `call`, which must throw sp::Error of `kind` with `needle` in its message.
inline void expect_error(const std::function<void()>& call, sp::ErrorKind kind, const std::string& needle) {
  try {
    call();
  } catch (const sp::Error& e) {
    if (e.kind() != kind) fail_msg("wrong error kind %d for \"%s\"", static_cast<int>(e.kind()), e.what());
    if (std::string(e.what()).find(needle) == std::string::npos)
      fail_msg("message \"%s\" does not name \"%s\"", e.what(), needle.c_str());
    return;
  }
  fail_msg("no sp::Error thrown (expected one naming \"%s\")", needle.c_str());
}

// sp_adapter_params for `method` with `num_virtual_tokens` and `seed`, every other field at the
// library's default (built here from the header, without the C library).
inline sp_adapter_params adapter_params(sp_method method, int32_t num_virtual_tokens, uint64_t seed) {
  sp_adapter_params params{};
  params.struct_size = sizeof(params);
  params.method = method;
  params.num_virtual_tokens = num_virtual_tokens;
  params.init = SP_INIT_RANDOM;
  params.seed = seed;
  params.encoder_type = SP_ENCODER_MLP;
  params.encoder_num_layers = 2;
  params.num_tasks = 1;
  params.num_ranks = 1;
  return params;
}

}  // namespace core_test
