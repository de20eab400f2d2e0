package dev.softprompt;

import dev.softprompt.internal.sp_dtype;

/**
 * Element type of the frozen weights and of the forward pass. Trainable prompt parameters are
 * always float32 master copies.
 */
public enum DType {
  FLOAT32(sp_dtype.SP_DTYPE_FLOAT32),
  BFLOAT16(sp_dtype.SP_DTYPE_BFLOAT16),
  FLOAT16(sp_dtype.SP_DTYPE_FLOAT16);

  final sp_dtype c;

  DType(sp_dtype c) {
    this.c = c;
  }

  static DType of(sp_dtype c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "dtype");
  }
}
