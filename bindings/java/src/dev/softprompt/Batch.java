package dev.softprompt;

import java.util.Arrays;

/**
 * A batch of token sequences, all seqLen long (pad to it), as int arrays in row-major
 * (batchSize, seqLen) order. Immutable: the builder copies the arrays once, so one Batch can be
 * used for any number of calls without copying again. The library checks sizes and values when
 * a batch is used: a non-positive batchSize or seqLen is {@link Status#INVALID_ARGUMENT}, an array
 * of the wrong length {@link Status#SHAPE_MISMATCH}, an id outside the vocabulary
 * {@link Status#OUT_OF_RANGE}.
 *
 * <p>Encoder-decoder models ({@link ModelInfo#isEncoderDecoder}, T5) take batches with two sides:
 * inputIds and attentionMask (batchSize x seqLen) are the encoder's input, and the decoder's rows
 * hold {@link Builder#decoderSeqLen decoderSeqLen} positions: labels are then the decoder's targets
 * (batchSize x decoderSeqLen), and the decoder reads {@link Builder#decoderInputIds} or, when they
 * are not given, the labels shifted right behind the model's decoder start token. Logits of such a
 * batch are the decoder's (decoderSeqLen positions per row).
 */
public final class Batch {
  private final int batchSize;
  private final int seqLen;
  final int[] inputIds;
  final int[] attentionMask;
  final int[] labels;
  final int[] taskIds;
  final int[] tokenTypeIds;
  final int[] rowLabels;
  private final int decoderSeqLen;
  final int[] decoderInputIds;
  final Adapter[] rowAdapters;

  private Batch(Builder builder) {
    batchSize = builder.batchSize;
    seqLen = builder.seqLen;
    inputIds = copy(builder.inputIds);
    attentionMask = copy(builder.attentionMask);
    labels = copy(builder.labels);
    taskIds = copy(builder.taskIds);
    tokenTypeIds = copy(builder.tokenTypeIds);
    rowLabels = copy(builder.rowLabels);
    decoderSeqLen = builder.decoderSeqLen;
    decoderInputIds = copy(builder.decoderInputIds);
    rowAdapters = builder.rowAdapters == null ? null : builder.rowAdapters.clone();
  }

  /** A batch of just these ids (no mask, labels = the ids, no task ids). */
  public static Batch of(int batchSize, int seqLen, int... inputIds) {
    return builder(batchSize, seqLen).inputIds(inputIds).build();
  }

  public static Builder builder(int batchSize, int seqLen) {
    return new Builder(batchSize, seqLen);
  }

  public int batchSize() {
    return batchSize;
  }

  public int seqLen() {
    return seqLen;
  }

  /** Copies of the arrays (null where not given). */
  public int[] inputIds() {
    return copy(inputIds);
  }

  public int[] attentionMask() {
    return copy(attentionMask);
  }

  public int[] labels() {
    return copy(labels);
  }

  public int[] taskIds() {
    return copy(taskIds);
  }

  public int[] tokenTypeIds() {
    return copy(tokenTypeIds);
  }

  public int[] rowLabels() {
    return copy(rowLabels);
  }

  /** The decoder's positions per row (encoder-decoder models); 0 when the batch has no decoder side. */
  public int decoderSeqLen() {
    return decoderSeqLen;
  }

  public int[] decoderInputIds() {
    return copy(decoderInputIds);
  }

  /** A copy of each row's adapter (null entries: none), or null when not given. */
  public Adapter[] rowAdapters() {
    return rowAdapters == null ? null : rowAdapters.clone();
  }

  /**
   * Positions per row of an ALL logits call: the decoder's (decoderSeqLen) when the batch has a
   * decoder side, else seqLen.
   */
  int logitsSeqLen() {
    return decoderSeqLen > 0 ? decoderSeqLen : seqLen;
  }

  /**
   * Rows to allocate outputs for: batchSize when the input ids fill batchSize x seqLen, else 0 (the
   * call then fails on the batch before it writes anything, so no large buffer is made for it).
   */
  int outputRows() {
    return batchSize > 0 && inputIds.length == (long) batchSize * seqLen ? batchSize : 0;
  }

  private static int[] copy(int[] values) {
    return values == null ? null : values.clone();
  }

  @Override
  public String toString() {
    return "Batch{" + batchSize + "x" + seqLen + ", inputIds=" + Arrays.toString(inputIds) + ", attentionMask="
        + Arrays.toString(attentionMask) + ", labels=" + Arrays.toString(labels) + ", taskIds="
        + Arrays.toString(taskIds) + ", tokenTypeIds=" + Arrays.toString(tokenTypeIds) + ", rowLabels="
        + Arrays.toString(rowLabels) + ", decoderSeqLen=" + decoderSeqLen + ", decoderInputIds="
        + Arrays.toString(decoderInputIds) + ", rowAdapters=" + Arrays.toString(rowAdapters) + "}";
  }

  /** Builds a {@link Batch}; every array but inputIds is optional. */
  public static final class Builder {
    private final int batchSize;
    private final int seqLen;
    private int[] inputIds;
    private int[] attentionMask;
    private int[] labels;
    private int[] taskIds;
    private int[] tokenTypeIds;
    private int[] rowLabels;
    private int decoderSeqLen;
    private int[] decoderInputIds;
    private Adapter[] rowAdapters;

    private Builder(int batchSize, int seqLen) {
      this.batchSize = batchSize;
      this.seqLen = seqLen;
    }

    /** Ids in [0, vocabSize), batchSize * seqLen of them. */
    public Builder inputIds(int... inputIds) {
      this.inputIds = inputIds;
      return this;
    }

    /** 1 = real token, 0 = padding; not given = all 1. */
    public Builder attentionMask(int... attentionMask) {
      this.attentionMask = attentionMask;
      return this;
    }

    /**
     * Targets in [0, vocabSize) or -100 (ignored); not given = the input ids, padding ignored.
     * {@link TaskType#TOKEN_CLS} adapters: each token's class in [0, numLabels) or -100 (required for
     * losses and training). Encoder-decoder models: the decoder's targets, batchSize *
     * {@link #decoderSeqLen} of them (position i predicts target i; pad each row at its end with
     * -100).
     */
    public Builder labels(int... labels) {
      this.labels = labels;
      return this;
    }

    /** One task per row, in [0, numTasks): required by multitask prompt tuning adapters only. */
    public Builder taskIds(int... taskIds) {
      this.taskIds = taskIds;
      return this;
    }

    /**
     * Segment of each token, batchSize * seqLen of them, in [0, {@link ModelInfo#typeVocabSize});
     * not given = all 0. Refused for models without token types.
     */
    public Builder tokenTypeIds(int... tokenTypeIds) {
      this.tokenTypeIds = tokenTypeIds;
      return this;
    }

    /**
     * {@link TaskType#SEQ_CLS} adapters: each row's class, batchSize of them, in [0, numLabels)
     * (required for losses and training).
     */
    public Builder rowLabels(int... rowLabels) {
      this.rowLabels = rowLabels;
      return this;
    }

    /**
     * Encoder-decoder models only ({@link ModelInfo#isEncoderDecoder}): the decoder's positions per
     * row, &gt; 0 when labels or decoderInputIds are given (logits and losses need one of them); 0 (the
     * default) = no decoder side. Decoder rows have no padding mask: pad them at the end. Refused
     * ({@link Status#INVALID_ARGUMENT}) for other models.
     */
    public Builder decoderSeqLen(int decoderSeqLen) {
      this.decoderSeqLen = decoderSeqLen;
      return this;
    }

    /**
     * Encoder-decoder models only: the decoder's input ids, batchSize * decoderSeqLen of them in [0,
     * vocabSize); not given = the labels shifted right behind {@link ModelInfo#decoderStartTokenId}
     * (-100 read as the pad id), as transformers does. Refused ({@link Status#INVALID_ARGUMENT}) for
     * other models.
     */
    public Builder decoderInputIds(int... decoderInputIds) {
      this.decoderInputIds = decoderInputIds;
      return this;
    }

    /**
     * One adapter per row, batchSize of them, for {@link Model#logits}, {@link Model#evalLoss} and
     * {@link Model#hiddenStates}: row r runs with rowAdapters[r]'s soft prompt, or with none where the
     * entry is null (any mix of methods and virtual-token counts, in one forward pass on decoder-only
     * models). Each row's result is that row's result alone with its adapter ({@link
     * Adapter#logits}), to float32 round-off. Not given = no soft prompt in any row. Every adapter
     * must belong to the model ({@link Status#INVALID_ARGUMENT} otherwise); another length is
     * {@link Status#SHAPE_MISMATCH}; a closed adapter an IllegalStateException. Adapter and Trainer
     * calls refuse a batch that sets them.
     */
    public Builder rowAdapters(Adapter... rowAdapters) {
      this.rowAdapters = rowAdapters;
      return this;
    }

    public Batch build() {
      Checks.notNull(inputIds, "inputIds");
      return new Batch(this);
    }
  }
}
