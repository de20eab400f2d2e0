package dev.softprompt;

import dev.softprompt.internal.sp_task_type;

/**
 * What an adapter is trained for (PEFT's task_type). The methods are the same for every task; the
 * task decides the model's output, the loss, and which calls apply (see sp_task_type in softprompt.h).
 */
public enum TaskType {
  /** Decoders: next-token logits, causal-LM loss, generation and scoring (the default). */
  CAUSAL_LM(sp_task_type.SP_TASK_CAUSAL_LM),
  /**
   * One class per row: a classification head over the pooled final hidden state, trained with the
   * prompt; loss over {@link Batch.Builder#rowLabels}; outputs from {@link Adapter#classify}.
   */
  SEQ_CLS(sp_task_type.SP_TASK_SEQ_CLS),
  /**
   * One class per token: a head over every position's final hidden state; labels are
   * {@link Batch.Builder#labels} (class ids, -100 = ignored) for the caller's tokens only.
   */
  TOKEN_CLS(sp_task_type.SP_TASK_TOKEN_CLS),
  /**
   * Encoder-decoder models (T5; {@link ModelInfo#isEncoderDecoder}), and the only task offered for
   * them: logits over the decoder's positions, the loss of its targets (the batch's decoder side:
   * {@link Batch.Builder#decoderSeqLen}, labels), generation (prompts are the encoder's input). As in
   * PEFT, prompt tables hold 2n rows (see SP_TASK_SEQ_2_SEQ_LM in softprompt.h for where each method
   * puts them). Refused (UNSUPPORTED) on other models.
   */
  SEQ_2_SEQ_LM(sp_task_type.SP_TASK_SEQ_2_SEQ_LM),
  /** Final hidden states ({@link Adapter#hiddenStates}); no head, no loss, so no training. */
  FEATURE_EXTRACTION(sp_task_type.SP_TASK_FEATURE_EXTRACTION);

  final sp_task_type c;

  TaskType(sp_task_type c) {
    this.c = c;
  }

  static TaskType of(sp_task_type c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "task type");
  }
}
