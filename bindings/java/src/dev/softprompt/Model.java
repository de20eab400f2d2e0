package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_model;
import dev.softprompt.internal.sp_model_info;
import dev.softprompt.internal.sp_model_params;

/**
 * A frozen base model loaded from a Hugging Face model folder (sp_model). Immutable once loaded:
 * any number of threads may use one model, and adapters on it, at the same time.
 *
 * <p>Close it when done (try-with-resources). Adapters created on the model keep the native model
 * alive, so closing the Java object while adapters are in use is safe; the Model object itself
 * can no longer be used after close().
 */
public final class Model implements AutoCloseable {
  private static final BatchCalls<sp_model> CALLS = new BatchCalls<>(SoftPromptNative::spb_model_logits,
      SoftPromptNative::spb_model_eval_loss, SoftPromptNative::spb_model_hidden_states);

  private final NativeHandle<sp_model> handle;
  private final ModelInfo info;

  private Model(sp_model pointer, ModelInfo info) {
    this.handle = NativeHandle.register(this, "Model", pointer, SoftPromptNative::sp_model_free);
    this.info = info;
  }

  /** Loads a model folder with the default options. */
  public static Model open(String folder) {
    return open(folder, new ModelOptions());
  }

  /**
   * Loads a model folder: config.json plus model.safetensors (or shards with an index).
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED, SHAPE_MISMATCH, DEVICE
   */
  public static Model open(String folder, ModelOptions options) {
    sp_model_params params = Checks.notNull(options, "options").toNative();
    sp_model pointer;
    try {
      pointer = SoftPromptNative.spb_model_create(folder, params);
      if (pointer == null) {
        throw Errors.last();
      }
    } finally {
      params.delete();
    }
    sp_model_info nativeInfo = SoftPromptNative.spb_model_info(pointer);
    try {
      if (nativeInfo.getStruct_size() == 0) {
        SoftPromptException failure = Errors.last();
        SoftPromptNative.sp_model_free(pointer);
        throw failure;
      }
      return new Model(pointer, new ModelInfo(nativeInfo));
    } finally {
      nativeInfo.delete();
    }
  }

  /** The model's sizes (read once when it was loaded: a model never changes). */
  public ModelInfo info() {
    handle.acquire();
    handle.release();
    return info;
  }

  /** Vocabulary size, for sizing logits buffers; usable after close (the adapters still need it). */
  long vocabSize() {
    return info.vocabSize();
  }

  /**
   * Logits of the base model alone (no soft prompt); see {@link LogitsMode} for the size. Decoders
   * and encoder-decoder models only ({@link ModelInfo#hasLmHead}; UNSUPPORTED for an encoder); an
   * encoder-decoder model's are the decoder's, at its {@link Batch#decoderSeqLen} positions.
   */
  public float[] logits(Batch batch, LogitsMode mode) {
    return CALLS.logits(handle, vocabSize(), batch, mode);
  }

  /**
   * Floats a logits call of mode returns for batch (batchSize [* seqLen, or * decoderSeqLen for a
   * batch with a decoder side] * vocabSize, from the library): the length out needs in
   * {@link #logits(Batch, LogitsMode, float[])}.
   *
   * @throws SoftPromptException INVALID_ARGUMENT for non-positive sizes
   */
  public long logitsCount(Batch batch, LogitsMode mode) {
    return BatchCalls.logitsCount(vocabSize(), batch, mode);
  }

  /** Logits of the base model alone into out, which must hold the whole result (see logitsCount). */
  public void logits(Batch batch, LogitsMode mode, float[] out) {
    CALLS.logits(handle, batch, mode, out);
  }

  /**
   * Mean loss and per-row log-likelihood of the base model alone: the causal-LM loss (position i
   * predicts label i + 1), or for an encoder-decoder model the cross-entropy of the decoder's
   * targets (position i predicts label i). Changes nothing.
   */
  public Evaluation evalLoss(Batch batch) {
    return CALLS.evalLoss(handle, batch);
  }

  /**
   * Final hidden states of the base model alone, batchSize * seqLen * {@link ModelInfo#hiddenSize}
   * floats (transformers' last_hidden_state; the batch's token type ids are used where the model has
   * token types; an encoder-decoder model's are its encoder's). Changes nothing.
   */
  public float[] hiddenStates(Batch batch) {
    return CALLS.hiddenStates(handle, info.hiddenSize(), batch);
  }

  /**
   * The tokenizer of this model's folder (its tokenizer.json, read when the model was loaded). The
   * Tokenizer is a new object of the caller's, to close; it stays usable after the model is closed.
   *
   * @throws SoftPromptException NOT_FOUND when the folder had no tokenizer.json, or the error its
   *     tokenizer.json gave (FORMAT, UNSUPPORTED)
   */
  public Tokenizer tokenizer() {
    sp_model model = handle.acquire();
    try {
      return Tokenizer.wrap(SoftPromptNative.spb_model_tokenizer(model));
    } finally {
      handle.release();
    }
  }

  /**
   * The ids that end generation for this model: generation_config.json's eos_token_id (one id or a
   * list), else config.json's, else the tokenizer's eos token; ids outside the vocabulary are left
   * out (so the list may be empty).
   */
  public int[] eosIds() {
    sp_model model = handle.acquire();
    try {
      int[] ids = new int[8]; // models list one to a few; more cost a second call
      long count;
      while ((count = SoftPromptNative.spb_model_eos_ids(model, ids)) > ids.length) {
        ids = new int[Checks.arrayLength(count, "the end-of-sequence ids", "ids")];
      }
      if (count < 0) {
        throw Errors.last();
      }
      return java.util.Arrays.copyOf(ids, (int) count);
    } finally {
      handle.release();
    }
  }

  /** The native handle for one call (paired with {@link #release()}); for Adapter.create/load. */
  sp_model acquire() {
    return handle.acquire();
  }

  void release() {
    handle.release();
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Releases this reference to the native model. Idempotent. */
  @Override
  public void close() {
    handle.close();
  }
}
