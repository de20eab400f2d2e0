package dev.softprompt;

import dev.softprompt.internal.sp_encoder_type;

/** P-tuning's prompt encoder (PEFT's encoder_reparameterization_type). */
public enum EncoderType {
  MLP(sp_encoder_type.SP_ENCODER_MLP),
  LSTM(sp_encoder_type.SP_ENCODER_LSTM);

  final sp_encoder_type c;

  EncoderType(sp_encoder_type c) {
    this.c = c;
  }

  static EncoderType of(sp_encoder_type c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "encoder type");
  }
}
