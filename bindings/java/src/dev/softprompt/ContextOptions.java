package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_context_params;

/** How large a context's cache is (sp_context_params). A new instance holds the C library's defaults. */
public final class ContextOptions {
  private int maxBatchSize;
  private int maxLength;
  private boolean recomputePrompts;

  public ContextOptions() {
    sp_context_params defaults = SoftPromptNative.sp_context_default_params();
    try {
      maxBatchSize = defaults.getMax_batch_size();
      maxLength = defaults.getMax_length();
      recomputePrompts = defaults.getRecompute_prompts() != 0;
    } finally {
      defaults.delete();
    }
  }

  /**
   * Rows one generate or prefill call may hold, 1 .. 4096; default 1. Scoring takes any number of
   * rows and runs them maxBatchSize at a time.
   */
  public int maxBatchSize() {
    return maxBatchSize;
  }

  public ContextOptions maxBatchSize(int maxBatchSize) {
    this.maxBatchSize = maxBatchSize;
    return this;
  }

  /**
   * Tokens per row the cache holds, prompt plus generated tokens, 1 .. 2^20; default 512. The
   * adapter's virtual tokens come on top.
   */
  public int maxLength() {
    return maxLength;
  }

  public ContextOptions maxLength(int maxLength) {
    this.maxLength = maxLength;
    return this;
  }

  /**
   * False (the default): prompt methods' virtual tokens enter as their compiled keys and values,
   * computed once per adapter version. True: they run again in every prefill (the same logits, slower;
   * for measuring what compiling saves).
   */
  public boolean recomputePrompts() {
    return recomputePrompts;
  }

  public ContextOptions recomputePrompts(boolean recomputePrompts) {
    this.recomputePrompts = recomputePrompts;
    return this;
  }

  /** A native copy (struct_size set by the library); the caller deletes it. */
  sp_context_params toNative() {
    sp_context_params params = SoftPromptNative.sp_context_default_params();
    params.setMax_batch_size(maxBatchSize);
    params.setMax_length(maxLength);
    params.setRecompute_prompts(recomputePrompts ? 1 : 0);
    return params;
  }

  @Override
  public String toString() {
    return "ContextOptions{maxBatchSize=" + maxBatchSize + ", maxLength=" + maxLength + ", recomputePrompts="
        + recomputePrompts + "}";
  }
}
