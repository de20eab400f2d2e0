// Dequantizing GGUF tensors to float32, one function per ggml block type, each following the `gguf`
// Python package's gguf/quants.py (0.19.0) operation by operation so that the results agree bit for
// bit: float16 scales widened exactly to float32, every product and sum rounded to float32 in the
// order numpy computes it (e.g. Q4_1's d * q + m is two roundings, never a fused multiply-add: this
// file is compiled with -ffp-contract=off), integer offsets applied before the conversion to float.
#include <cstring>
#include <vector>

#include "io/gguf.h"
#include "io/gguf_types.h"
#include "util/errors.h"

namespace sp::io {

namespace {

// float16 bits to float32 bits, exactly (numpy's conversion): subnormals normalised, infinities and
// NaNs kept with their payload (nothing quieted). Integer-only, so the CPU's flush-to-zero modes
// cannot touch it.
std::uint32_t half_to_float_bits(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return sign | 0x7f800000u | (mantissa << 13);
  if (exponent != 0) return sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  if (mantissa == 0) return sign;
  // A subnormal half is mantissa * 2^-24: shift its leading one up to the implicit bit's place.
  int shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  return sign | (static_cast<std::uint32_t>(127 - 15 + 1 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
}

// All 65536 conversions, made once: a model's dequantization reads one per block (or per value for
// F16 tensors).
const float* half_table() {
  static const std::vector<float> table = [] {
    std::vector<float> values(65536);
    for (std::uint32_t half = 0; half < 65536; ++half) {
      const std::uint32_t bits = half_to_float_bits(static_cast<std::uint16_t>(half));
      std::memcpy(&values[half], &bits, sizeof(float));
    }
    return values;
  }();
  return table.data();
}

struct Halves {
  const float* table = half_table();
  float operator()(const std::uint8_t* bytes) const { return table[bytes[0] | (bytes[1] << 8)]; }
};

void dequantize_f32(const std::uint8_t* data, std::size_t count, float* out) {
  std::memcpy(out, data, count * sizeof(float));
}

void dequantize_f16(const std::uint8_t* data, std::size_t count, float* out) {
  const Halves half;
  for (std::size_t i = 0; i < count; ++i) out[i] = half(data + 2 * i);
}

// bfloat16 is the top half of a float32: the bits shifted up, NaNs included.
void dequantize_bf16(const std::uint8_t* data, std::size_t count, float* out) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t bits = static_cast<std::uint32_t>(data[2 * i] | (data[2 * i + 1] << 8)) << 16;
    std::memcpy(&out[i], &bits, sizeof(float));
  }
}

// The 32-value blocks store value j (j < 16) in the low nibble of qs[j] and value j + 16 in its high
// nibble; Q5 blocks add bit j of a little-endian u32 as each value's fifth bit.

// Q4_0: d (f16), qs[16]; x = d * (q - 8).
void dequantize_q4_0(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 18, out += 32) {
    const float d = half(block);
    const std::uint8_t* qs = block + 2;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
      out[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

// Q4_1: d, m (f16), qs[16]; x = d * q + m.
void dequantize_q4_1(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 20, out += 32) {
    const float d = half(block);
    const float m = half(block + 2);
    const std::uint8_t* qs = block + 4;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(qs[j] & 0x0f) + m;
      out[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

std::uint32_t read_u32(const std::uint8_t* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) | (static_cast<std::uint32_t>(bytes[1]) << 8) |
         (static_cast<std::uint32_t>(bytes[2]) << 16) | (static_cast<std::uint32_t>(bytes[3]) << 24);
}

// Q5_0: d (f16), qh (u32), qs[16]; x = d * (q - 16).
void dequantize_q5_0(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 22, out += 32) {
    const float d = half(block);
    const std::uint32_t qh = read_u32(block + 2);
    const std::uint8_t* qs = block + 6;
    for (int j = 0; j < 16; ++j) {
      const int low = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int high = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      out[j] = d * static_cast<float>(low - 16);
      out[j + 16] = d * static_cast<float>(high - 16);
    }
  }
}

// Q5_1: d, m (f16), qh (u32), qs[16]; x = d * q + m.
void dequantize_q5_1(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 24, out += 32) {
    const float d = half(block);
    const float m = half(block + 2);
    const std::uint32_t qh = read_u32(block + 4);
    const std::uint8_t* qs = block + 8;
    for (int j = 0; j < 16; ++j) {
      const int low = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int high = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      out[j] = d * static_cast<float>(low) + m;
      out[j + 16] = d * static_cast<float>(high) + m;
    }
  }
}

// Q8_0: d (f16), qs[32] (int8); x = q * d.
void dequantize_q8_0(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 34, out += 32) {
    const float d = half(block);
    const std::uint8_t* qs = block + 2;
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(static_cast<std::int8_t>(qs[j])) * d;
  }
}

// The K-quants: 256-value super-blocks. Their 2-bit and 4-bit fields are packed in 32-byte rows
// that hold 32 consecutive values per bit position: value 128 * h + 32 * s + l takes its bits
// from byte 32 * h + l (2-bit fields: bits 2s..2s+1), and the high-bit masks give value 32 * k + l
// bit k of byte l.

// Q2_K: scales[16] (low nibble: scale, high: min), qs[64], d, dmin (f16);
// x = (d * scale) * q - (dmin * min) per 16-value group.
void dequantize_q2_k(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 84, out += 256) {
    const std::uint8_t* scales = block;
    const std::uint8_t* qs = block + 16;
    const float d = half(block + 80);
    const float dmin = half(block + 82);
    float dl[16], ml[16];
    for (int g = 0; g < 16; ++g) {
      dl[g] = d * static_cast<float>(scales[g] & 0x0f);
      ml[g] = dmin * static_cast<float>(scales[g] >> 4);
    }
    for (int e = 0; e < 256; ++e) {
      const int h = e >> 7, s = (e >> 5) & 3, l = e & 31;
      const int q = (qs[32 * h + l] >> (2 * s)) & 3;
      out[e] = dl[e >> 4] * static_cast<float>(q) - ml[e >> 4];
    }
  }
}

// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit scales), d (f16);
// x = (d * (scale - 32)) * (q - (high bit clear ? 4 : 0)).
void dequantize_q3_k(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 110, out += 256) {
    const std::uint8_t* hmask = block;
    const std::uint8_t* qs = block + 32;
    const std::uint8_t* packed = block + 96;
    const float d = half(block + 108);
    float dl[16];
    for (int k = 0; k < 16; ++k) {
      const int low = k < 8 ? (packed[k] & 0x0f) : (packed[k - 8] >> 4);
      const int high = (packed[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
      dl[k] = d * static_cast<float>((low | (high << 4)) - 32);
    }
    for (int e = 0; e < 256; ++e) {
      const int h = e >> 7, s = (e >> 5) & 3, l = e & 31;
      const int low = (qs[32 * h + l] >> (2 * s)) & 3;
      const int high_clear = ((hmask[l] >> (e >> 5)) & 1) ^ 1;
      out[e] = dl[e >> 4] * static_cast<float>(low - (high_clear << 2));
    }
  }
}

// The eight 6-bit scales and mins of Q4_K and Q5_K, packed in 12 bytes.
void k_scales_and_mins(const std::uint8_t* packed, int scales[8], int mins[8]) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = packed[j] & 0x3f;
    mins[j] = packed[j + 4] & 0x3f;
    scales[j + 4] = (packed[j + 8] & 0x0f) | ((packed[j] >> 2) & 0x30);
    mins[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 2) & 0x30);
  }
}

// Q4_K: d, dmin (f16), scales[12], qs[128]; value 32 * g + l is nibble g % 2 of qs[32 * (g / 2) + l];
// x = (d * scale) * q - (dmin * min) per 32-value group.
void dequantize_q4_k(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 144, out += 256) {
    const float d = half(block);
    const float dmin = half(block + 2);
    const std::uint8_t* qs = block + 16;
    int scales[8], mins[8];
    k_scales_and_mins(block + 4, scales, mins);
    for (int g = 0; g < 8; ++g) {
      const float dg = d * static_cast<float>(scales[g]);
      const float mg = dmin * static_cast<float>(mins[g]);
      const std::uint8_t* row = qs + 32 * (g >> 1);
      const int shift = 4 * (g & 1);
      for (int l = 0; l < 32; ++l) out[32 * g + l] = dg * static_cast<float>((row[l] >> shift) & 0x0f) - mg;
    }
  }
}

// Q5_K: Q4_K with qh[32] before qs: bit g of qh[l] is the fifth bit of value 32 * g + l.
void dequantize_q5_k(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 176, out += 256) {
    const float d = half(block);
    const float dmin = half(block + 2);
    const std::uint8_t* qh = block + 16;
    const std::uint8_t* qs = block + 48;
    int scales[8], mins[8];
    k_scales_and_mins(block + 4, scales, mins);
    for (int g = 0; g < 8; ++g) {
      const float dg = d * static_cast<float>(scales[g]);
      const float mg = dmin * static_cast<float>(mins[g]);
      const std::uint8_t* row = qs + 32 * (g >> 1);
      const int shift = 4 * (g & 1);
      for (int l = 0; l < 32; ++l) {
        const int q = ((row[l] >> shift) & 0x0f) | (((qh[l] >> g) & 1) << 4);
        out[32 * g + l] = dg * static_cast<float>(q) - mg;
      }
    }
  }
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). Value 128 * h + 64 * s + m takes its low
// nibble from nibble s of ql[64 * h + m]; value 128 * h + 32 * s + l its two high bits from bits
// 2s..2s+1 of qh[32 * h + l]; x = (d * scale) * (q - 32) per 16-value group.
void dequantize_q6_k(const std::uint8_t* block, std::size_t blocks, float* out) {
  const Halves half;
  for (std::size_t b = 0; b < blocks; ++b, block += 210, out += 256) {
    const std::uint8_t* ql = block;
    const std::uint8_t* qh = block + 128;
    const std::uint8_t* scales = block + 192;
    const float d = half(block + 208);
    float dl[16];
    for (int g = 0; g < 16; ++g) dl[g] = d * static_cast<float>(static_cast<std::int8_t>(scales[g]));
    for (int e = 0; e < 256; ++e) {
      const int h = e >> 7;
      const int low = (ql[64 * h + (e & 63)] >> (4 * ((e >> 6) & 1))) & 0x0f;
      const int high = (qh[32 * h + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      out[e] = dl[e >> 4] * static_cast<float>((low | (high << 4)) - 32);
    }
  }
}

using Dequantizer = void (*)(const std::uint8_t*, std::size_t, float*);

// The block function of a supported type; nullptr for the others. Plain types take a value count,
// block types a block count (dequantize() passes numel / block_size, the same for plain types).
Dequantizer dequantizer(std::uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32:
      return dequantize_f32;
    case GgmlType::F16:
      return dequantize_f16;
    case GgmlType::BF16:
      return dequantize_bf16;
    case GgmlType::Q4_0:
      return dequantize_q4_0;
    case GgmlType::Q4_1:
      return dequantize_q4_1;
    case GgmlType::Q5_0:
      return dequantize_q5_0;
    case GgmlType::Q5_1:
      return dequantize_q5_1;
    case GgmlType::Q8_0:
      return dequantize_q8_0;
    case GgmlType::Q2_K:
      return dequantize_q2_k;
    case GgmlType::Q3_K:
      return dequantize_q3_k;
    case GgmlType::Q4_K:
      return dequantize_q4_k;
    case GgmlType::Q5_K:
      return dequantize_q5_k;
    case GgmlType::Q6_K:
      return dequantize_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

bool ggml_type_supported(std::uint32_t type) { return dequantizer(type) != nullptr; }

void dequantize(const GgufTensor& tensor, float* out) {
  const Dequantizer run = dequantizer(tensor.type);
  if (!run)
    fail(ErrorKind::Unsupported, "tensor '" + tensor.name + "' has ggml type " + ggml_type_name(tensor.type) +
                                     ", which is not dequantized (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
                                     "Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
  const GgmlTypeTraits* traits = ggml_type_traits(tensor.type);
  // The checks GgufFile::open made, again: a GgufTensor may be put together by hand.
  if (tensor.dims.empty() || tensor.dims[0] % traits->block_size != 0)
    fail(ErrorKind::Format, "tensor '" + tensor.name + "' of type " + traits->name +
                                ": its first dimension is not a multiple of the block size " +
                                std::to_string(traits->block_size));
  const auto blocks = static_cast<std::size_t>(tensor.numel()) / traits->block_size;
  if (blocks * traits->type_size != tensor.nbytes)
    fail(ErrorKind::Format, "tensor '" + tensor.name + "' holds " + std::to_string(tensor.nbytes) +
                                " bytes; its shape and type " + traits->name + " need " +
                                std::to_string(blocks * traits->type_size));
  if (blocks != 0) run(tensor.data, blocks, out);
}

}  // namespace sp::io
