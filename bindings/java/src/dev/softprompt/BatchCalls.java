package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_logits_mode;
import dev.softprompt.internal.sp_status;

/**
 * The logits and evalLoss calls that {@link Model} and {@link Adapter} share: the same argument
 * handling and buffer sizing around a native function that differs only in its handle type P.
 */
final class BatchCalls<P> {
  /** spb_model_logits / spb_adapter_logits. */
  interface Logits<P> {
    sp_status call(P handle, int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels,
        int[] taskIds, sp_logits_mode mode, float[] out);
  }

  /** spb_model_eval_loss / spb_adapter_eval_loss. */
  interface EvalLoss<P> {
    sp_status call(P handle, int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels,
        int[] taskIds, float[] meanLoss, float[] rows);
  }

  private final Logits<P> logits;
  private final EvalLoss<P> evalLoss;

  BatchCalls(Logits<P> logits, EvalLoss<P> evalLoss) {
    this.logits = logits;
    this.evalLoss = evalLoss;
  }

  /** Logits as a new array, sized by the library (sp_logits_count) from the model's vocabulary. */
  float[] logits(NativeHandle<P> handle, long vocabSize, Batch batch, LogitsMode mode) {
    Checks.notNull(batch, "batch");
    Checks.notNull(mode, "mode");
    float[] out = new float[logitsArrayLength(vocabSize, batch, mode)];
    logits(handle, batch, mode, out);
    return out;
  }

  /** Logits into out, which must hold the whole result. */
  void logits(NativeHandle<P> handle, Batch batch, LogitsMode mode, float[] out) {
    Checks.notNull(batch, "batch");
    Checks.notNull(mode, "mode");
    Checks.notNull(out, "out");
    P pointer = handle.acquire();
    try {
      Errors.check(logits.call(pointer, batch.batchSize(), batch.seqLen(), batch.inputIds, batch.attentionMask,
          batch.labels, batch.taskIds, mode.c, out));
    } finally {
      handle.release();
    }
  }

  Evaluation evalLoss(NativeHandle<P> handle, Batch batch) {
    Checks.notNull(batch, "batch");
    float[] meanLoss = new float[1];
    float[] rows = new float[batch.outputRows()];
    P pointer = handle.acquire();
    try {
      Errors.check(evalLoss.call(pointer, batch.batchSize(), batch.seqLen(), batch.inputIds, batch.attentionMask,
          batch.labels, batch.taskIds, meanLoss, rows));
    } finally {
      handle.release();
    }
    return new Evaluation(meanLoss[0], rows);
  }

  /**
   * The float count of a logits call, from the library (sp_logits_count): its failure
   * (non-positive sizes, an unknown mode) is thrown as a SoftPromptException, like every other
   * batch error.
   */
  static long logitsCount(long vocabSize, Batch batch, LogitsMode mode) {
    Checks.notNull(batch, "batch");
    Checks.notNull(mode, "mode");
    long count = SoftPromptNative.spb_logits_count(vocabSize, batch.batchSize(), batch.seqLen(), mode.c);
    if (count < 0) {
      throw Errors.last();
    }
    return count;
  }

  /** logitsCount as an array length. */
  private static int logitsArrayLength(long vocabSize, Batch batch, LogitsMode mode) {
    long count = logitsCount(vocabSize, batch, mode);
    // A batch whose input ids do not fill batchSize x seqLen fails in the call (SHAPE_MISMATCH)
    // before the library looks at the buffer: allocate nothing for it.
    return batch.outputRows() == 0 ? 0 : Checks.arrayLength(count, "the logits");
  }
}
