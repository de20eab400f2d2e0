#include "io/gguf_types.h"

#include <string>

#include "io/gguf.h"

namespace sp::io {

namespace {

// QK_K, the super-block size of the K-quants and the i-quants.
constexpr std::uint32_t kSuperBlock = 256;

// Indexed by type value, as ggml.h numbers them (gguf 0.19.0's GGML_QUANT_SIZES gives the same sizes);
// a null name marks a value ggml does not define.
constexpr GgmlTypeTraits kTraits[] = {
    {"F32", 1, 4},                                                                         // 0
    {"F16", 1, 2},                                                                         // 1
    {"Q4_0", 32, 2 + 16},                                                                  // 2
    {"Q4_1", 32, 2 + 2 + 16},                                                              // 3
    {nullptr, 0, 0},                                                                       // 4: Q4_2, removed
    {nullptr, 0, 0},                                                                       // 5: Q4_3, removed
    {"Q5_0", 32, 2 + 4 + 16},                                                              // 6
    {"Q5_1", 32, 2 + 2 + 4 + 16},                                                          // 7
    {"Q8_0", 32, 2 + 32},                                                                  // 8
    {"Q8_1", 32, 4 + 4 + 32},                                                              // 9
    {"Q2_K", kSuperBlock, 2 + 2 + kSuperBlock / 16 + kSuperBlock / 4},                     // 10
    {"Q3_K", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8 + 12},                     // 11
    {"Q4_K", kSuperBlock, 2 + 2 + kSuperBlock / 2 + 12},                                   // 12
    {"Q5_K", kSuperBlock, 2 + 2 + kSuperBlock / 2 + kSuperBlock / 8 + 12},                 // 13
    {"Q6_K", kSuperBlock, 2 + kSuperBlock / 2 + kSuperBlock / 4 + kSuperBlock / 16},       // 14
    {"Q8_K", kSuperBlock, 4 + kSuperBlock + kSuperBlock / 8},                              // 15
    {"IQ2_XXS", kSuperBlock, 2 + kSuperBlock / 4},                                         // 16
    {"IQ2_XS", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 32},                       // 17
    {"IQ3_XXS", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8},                       // 18
    {"IQ1_S", kSuperBlock, 2 + kSuperBlock / 8 + kSuperBlock / 16},                        // 19
    {"IQ4_NL", 32, 2 + 16},                                                                // 20
    {"IQ3_S", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 8 + kSuperBlock / 32 + 4},  // 21
    {"IQ2_S", kSuperBlock, 2 + kSuperBlock / 4 + kSuperBlock / 16},                        // 22
    {"IQ4_XS", kSuperBlock, 2 + 2 + kSuperBlock / 2 + kSuperBlock / 64},                   // 23
    {"I8", 1, 1},                                                                          // 24
    {"I16", 1, 2},                                                                         // 25
    {"I32", 1, 4},                                                                         // 26
    {"I64", 1, 8},                                                                         // 27
    {"F64", 1, 8},                                                                         // 28
    {"IQ1_M", kSuperBlock, kSuperBlock / 8 + kSuperBlock / 16 + kSuperBlock / 32},         // 29
    {"BF16", 1, 2},                                                                        // 30
    {nullptr, 0, 0},                                                                       // 31: Q4_0_4_4, removed
    {nullptr, 0, 0},                                                                       // 32: Q4_0_4_8, removed
    {nullptr, 0, 0},                                                                       // 33: Q4_0_8_8, removed
    {"TQ1_0", kSuperBlock, 2 + 4 * 13},                                                    // 34
    {"TQ2_0", kSuperBlock, 2 + 64},                                                        // 35
    {nullptr, 0, 0},                                                                       // 36: IQ4_NL_4_4, removed
    {nullptr, 0, 0},                                                                       // 37: IQ4_NL_4_8, removed
    {nullptr, 0, 0},                                                                       // 38: IQ4_NL_8_8, removed
    {"MXFP4", 32, 1 + 16},                                                                 // 39
    {"NVFP4", 64, 4 + 32},                                                                 // 40
    {"Q1_0", 128, 2 + 16},                                                                 // 41
};

}  // namespace

const GgmlTypeTraits* ggml_type_traits(std::uint32_t type) {
  if (type >= sizeof(kTraits) / sizeof(kTraits[0]) || kTraits[type].name == nullptr) return nullptr;
  return &kTraits[type];
}

std::string ggml_type_name(std::uint32_t type) {
  const GgmlTypeTraits* traits = ggml_type_traits(type);
  return traits ? std::string(traits->name) : "type " + std::to_string(type);
}

}  // namespace sp::io
