package dev.softprompt;

import dev.softprompt.internal.sp_stop_reason;

/** Why a row of a generation stopped (sp_stop_reason). */
public enum StopReason {
  /** The row goes on (the event is not its last token). */
  NONE(sp_stop_reason.SP_STOP_NONE),
  /** maxNewTokens were generated. */
  MAX_TOKENS(sp_stop_reason.SP_STOP_MAX_TOKENS),
  /** An end-of-sequence id (the model's or one of stopIds); it is the row's last token. */
  EOS(sp_stop_reason.SP_STOP_EOS),
  /** The row's text came to contain a stop string; the token completing it is the row's last. */
  STRING(sp_stop_reason.SP_STOP_STRING),
  /** The callback returned false, or the iterator or stream was closed before the end. */
  CALLBACK(sp_stop_reason.SP_STOP_CALLBACK);

  final sp_stop_reason c;

  StopReason(sp_stop_reason c) {
    this.c = c;
  }

  /** The constant whose C value is code (what spb_context_generate_next reports). */
  static StopReason ofCode(int code) {
    return of(sp_stop_reason.swigToEnum(code));
  }

  static StopReason of(sp_stop_reason c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "stop reason");
  }
}
