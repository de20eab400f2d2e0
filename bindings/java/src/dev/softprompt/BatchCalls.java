package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter;
import dev.softprompt.internal.sp_logits_mode;
import dev.softprompt.internal.sp_status;

/**
 * The logits, evalLoss and hiddenStates calls that {@link Model} and {@link Adapter} share: the same
 * argument handling and buffer sizing around a native function that differs only in its handle type
 * P. Every batch call passes all of the batch's arrays, its row adapters' handles included (spb_batch
 * in softprompt.i), through {@link #call}.
 */
final class BatchCalls<P> {
  /** spb_model_logits / spb_adapter_logits. */
  interface Logits<P> {
    sp_status call(P handle, int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels,
        int[] taskIds, int[] tokenTypeIds, int[] rowLabels, int decoderSeqLen, int[] decoderInputIds,
        sp_adapter[] rowAdapters, sp_logits_mode mode, float[] out);
  }

  /** spb_model_eval_loss / spb_adapter_eval_loss. */
  interface EvalLoss<P> {
    sp_status call(P handle, int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels,
        int[] taskIds, int[] tokenTypeIds, int[] rowLabels, int decoderSeqLen, int[] decoderInputIds,
        sp_adapter[] rowAdapters, float[] meanLoss, float[] rows);
  }

  /** spb_model_hidden_states / spb_adapter_hidden_states. */
  interface HiddenStates<P> {
    sp_status call(P handle, int batchSize, int seqLen, int[] inputIds, int[] attentionMask, int[] labels,
        int[] taskIds, int[] tokenTypeIds, int[] rowLabels, int decoderSeqLen, int[] decoderInputIds,
        sp_adapter[] rowAdapters, float[] out);
  }

  /** One native batch call on a handle and the batch's row adapters' handles. */
  interface Call<P> {
    sp_status call(P handle, sp_adapter[] rowAdapters);
  }

  /**
   * Makes one batch call with handle and the batch's row adapters held for it, and throws its
   * failure. A closed row adapter throws IllegalStateException before the call.
   */
  static <P> void call(NativeHandle<P> handle, Batch batch, Call<P> call) {
    try (AdapterHandles rows = AdapterHandles.acquire(batch.rowAdapters)) {
      P pointer = handle.acquire();
      try {
        Errors.check(call.call(pointer, rows.pointers()));
      } finally {
        handle.release();
      }
    }
  }

  private final Logits<P> logits;
  private final EvalLoss<P> evalLoss;
  private final HiddenStates<P> hiddenStates;

  BatchCalls(Logits<P> logits, EvalLoss<P> evalLoss, HiddenStates<P> hiddenStates) {
    this.logits = logits;
    this.evalLoss = evalLoss;
    this.hiddenStates = hiddenStates;
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
    call(handle, batch, (pointer, rows) -> logits.call(pointer, batch.batchSize(), batch.seqLen(), batch.inputIds,
        batch.attentionMask, batch.labels, batch.taskIds, batch.tokenTypeIds, batch.rowLabels, batch.decoderSeqLen(),
        batch.decoderInputIds, rows, mode.c, out));
  }

  Evaluation evalLoss(NativeHandle<P> handle, Batch batch) {
    Checks.notNull(batch, "batch");
    float[] meanLoss = new float[1];
    float[] rows = new float[batch.outputRows()];
    call(handle, batch, (pointer, adapters) -> evalLoss.call(pointer, batch.batchSize(), batch.seqLen(),
        batch.inputIds, batch.attentionMask, batch.labels, batch.taskIds, batch.tokenTypeIds, batch.rowLabels,
        batch.decoderSeqLen(), batch.decoderInputIds, adapters, meanLoss, rows));
    return new Evaluation(meanLoss[0], rows);
  }

  /**
   * Final hidden states as a new array of batchSize * seqLen * hiddenSize floats (hiddenSize: the
   * model's, from sp_model_info or sp_adapter_info).
   */
  float[] hiddenStates(NativeHandle<P> handle, long hiddenSize, Batch batch) {
    Checks.notNull(batch, "batch");
    float[] out = new float[outputLength(batch, (long) batch.seqLen() * hiddenSize, "the hidden states")];
    call(handle, batch, (pointer, rows) -> hiddenStates.call(pointer, batch.batchSize(), batch.seqLen(),
        batch.inputIds, batch.attentionMask, batch.labels, batch.taskIds, batch.tokenTypeIds, batch.rowLabels,
        batch.decoderSeqLen(), batch.decoderInputIds, rows, out));
    return out;
  }

  /**
   * The length of an output of valuesPerRow floats per row, with the values per row from the C
   * library's info (hidden size, class count): 0 for a batch whose input ids do not fill batchSize x
   * seqLen, which the call refuses (SHAPE_MISMATCH) before it looks at the buffer. The library checks
   * the buffer it receives against the result (BUFFER_TOO_SMALL).
   */
  static int outputLength(Batch batch, long valuesPerRow, String what) {
    int rows = batch.outputRows();
    if (rows == 0 || valuesPerRow <= 0) {
      return 0;
    }
    return Checks.arrayLength(valuesPerRow > Long.MAX_VALUE / rows ? Long.MAX_VALUE : rows * valuesPerRow, what);
  }

  /**
   * The float count of a logits call, from the library (sp_logits_count): its failure
   * (non-positive sizes, an unknown mode) is thrown as a SoftPromptException, like every other
   * batch error. A batch with a decoder side (encoder-decoder models) counts the decoder's
   * positions.
   */
  static long logitsCount(long vocabSize, Batch batch, LogitsMode mode) {
    Checks.notNull(batch, "batch");
    Checks.notNull(mode, "mode");
    long count = SoftPromptNative.spb_logits_count(vocabSize, batch.batchSize(), batch.logitsSeqLen(), mode.c);
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
