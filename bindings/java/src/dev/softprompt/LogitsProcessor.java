package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_generate_params;

/**
 * The logits processors a generation applies, for callers that sample themselves (after {@link
 * Context#prefill} and {@link Context#decode}) or compare with transformers' processors.
 */
public final class LogitsProcessor {
  private LogitsProcessor() {}

  /**
   * Applies options' processors to one row of logits in place, as generate does: the repetition
   * penalty over the ids in history, then, with doSample, temperature, topK, topP and minP
   * (removed tokens become -infinity).
   *
   * @param history the row's tokens so far (null: none), each in [0, logits.length)
   * @throws SoftPromptException INVALID_ARGUMENT (options out of range), OUT_OF_RANGE (history ids)
   */
  public static void process(GenerateOptions options, int[] history, float[] logits) {
    Checks.notNull(options, "options");
    Checks.notNull(logits, "logits");
    sp_generate_params params = options.toNative();
    try {
      Errors.check(SoftPromptNative.spb_logits_process(params, history, logits));
    } finally {
      params.delete();
    }
  }
}
