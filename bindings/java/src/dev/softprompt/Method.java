package dev.softprompt;

import dev.softprompt.internal.sp_method;

/** The soft-prompt methods, as PEFT defines them for causal language models. */
public enum Method {
  /** A table of virtual-token embeddings prepended to the input. */
  PROMPT_TUNING(sp_method.SP_METHOD_PROMPT_TUNING),
  /** Keys and values prepended in every attention layer. */
  PREFIX_TUNING(sp_method.SP_METHOD_PREFIX_TUNING),
  /** A table passed through an MLP or LSTM encoder, then prepended. */
  P_TUNING(sp_method.SP_METHOD_P_TUNING),
  /** A shared table times a per-task low-rank matrix (batches need task ids). */
  MULTITASK_PROMPT_TUNING(sp_method.SP_METHOD_MULTITASK_PROMPT_TUNING);

  final sp_method c;

  Method(sp_method c) {
    this.c = c;
  }

  static Method of(sp_method c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "method");
  }
}
