package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter;
import dev.softprompt.internal.sp_train_result;
import dev.softprompt.internal.sp_trainer;
import dev.softprompt.internal.sp_trainer_params;
import java.util.HashMap;
import java.util.Map;

/**
 * Optimiser state (AdamW, schedule, accumulation) for one adapter (sp_trainer). It keeps its
 * {@link Adapter} object reachable, and the library keeps the native adapter alive.
 */
public final class Trainer implements AutoCloseable {
  /** Bytes of user state the first load attempt makes room for. */
  private static final long USER_STATE_GUESS = 4096;

  private final NativeHandle<sp_trainer> handle;
  private final Adapter adapter;
  /**
   * Size of each trainable tensor, fixed for the adapter's life: sizes gradient buffers even
   *  after the Adapter object is closed (the native adapter lives on inside the trainer).
   */
  private final Map<String, Integer> parameterSizes;

  private Trainer(Adapter adapter, sp_trainer pointer, Map<String, Integer> parameterSizes) {
    this.handle = NativeHandle.register(this, "Trainer", pointer, SoftPromptNative::sp_trainer_free);
    this.adapter = adapter;
    this.parameterSizes = parameterSizes;
  }

  /** Creates optimiser state for adapter. @throws SoftPromptException INVALID_ARGUMENT */
  public static Trainer create(Adapter adapter, TrainerOptions options) {
    Checks.notNull(adapter, "adapter");
    Checks.notNull(options, "options");
    Map<String, Integer> sizes = new HashMap<>();
    for (String name : adapter.parameterNames()) {
      sizes.put(name, Checks.arrayLength(adapter.parameterSize(name), "parameter " + name));
    }
    sp_adapter nativeAdapter = adapter.acquire();
    sp_trainer_params params = null;
    try {
      params = options.toNative();
      sp_trainer pointer = SoftPromptNative.spb_trainer_create(nativeAdapter, params);
      if (pointer == null) {
        throw Errors.last();
      }
      return new Trainer(adapter, pointer, sizes);
    } finally {
      adapter.release();
      if (params != null) {
        params.delete();
      }
    }
  }

  /** The adapter this trainer trains. */
  public Adapter adapter() {
    return adapter;
  }

  /**
   * One training step: forward with the soft prompt, the task's loss (causal-LM cross-entropy;
   * SEQ_2_SEQ_LM, SEQ_CLS and TOKEN_CLS as {@link Adapter#evalLoss}), backward into the adapter's trainable tensors
   * only (the soft prompt, and a classification head) and, every accumulationSteps steps, clipping
   * and an AdamW update. On error nothing changes.
   */
  public TrainResult step(Batch batch) {
    Checks.notNull(batch, "batch");
    sp_train_result result = new sp_train_result();
    try {
      BatchCalls.call(handle, batch, (trainer, rows) -> SoftPromptNative.spb_trainer_step(trainer, batch.batchSize(),
          batch.seqLen(), batch.inputIds, batch.attentionMask, batch.labels, batch.taskIds, batch.tokenTypeIds,
          batch.rowLabels, batch.decoderSeqLen(), batch.decoderInputIds, rows, result));
      return new TrainResult(result);
    } finally {
      result.delete();
    }
  }

  /**
   * The gradient of trainable tensor name that the latest optimiser update used, before clipping.
   * With accumulationSteps &gt; 1 it is the MEAN of the micro-batches' gradients (each micro-batch's
   * loss is divided by accumulationSteps, as transformers' Trainer does); {@link TrainResult#gradNorm}
   * is its norm.
   *
   * @throws SoftPromptException NOT_FOUND before the first update or for unknown names
   */
  public float[] gradient(String name) {
    Integer size = name == null ? null : parameterSizes.get(name);
    // An unknown name gets an empty buffer: the library then reports it (NOT_FOUND, its message).
    float[] out = new float[size == null ? 0 : size];
    sp_trainer trainer = handle.acquire();
    try {
      Errors.check(SoftPromptNative.spb_trainer_get_gradient(trainer, name, out));
    } finally {
      handle.release();
    }
    return out;
  }

  /**
   * Saves everything training needs to resume exactly (the adapter's tensors, AdamW's moments, the
   * counters, accumulated gradients and settings) in one file, atomically, with userState: bytes
   * the caller wants back when it resumes (its data order's position, say); null for none.
   *
   * @throws SoftPromptException IO when the file cannot be written (an existing one is kept)
   */
  public void saveState(String path, byte[] userState) {
    sp_trainer trainer = handle.acquire();
    try {
      Errors.check(SoftPromptNative.spb_trainer_save_state(trainer, path, userState));
    } finally {
      handle.release();
    }
  }

  /** {@link #saveState(String, byte[])} without user state. */
  public void saveState(String path) {
    saveState(path, null);
  }

  /**
   * Restores a file written by {@link #saveState}: the adapter's tensors, the optimiser state and
   * the settings are replaced, so the next step computes what the saving trainer's next step
   * would have. Returns the saved user state (empty when none). On any error nothing changes.
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED, MODEL_MISMATCH (another base
   *     model), SHAPE_MISMATCH (another method or other sizes)
   */
  public byte[] loadState(String path) {
    sp_trainer trainer = handle.acquire();
    try {
      // A buffer too small for the user state restores nothing and reports the size: then once more.
      return SizedOutput.read(USER_STATE_GUESS, false, "the user state",
          out -> SoftPromptNative.spb_trainer_load_state(trainer, path, out));
    } finally {
      handle.release();
    }
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Releases the optimiser state. Idempotent. */
  @Override
  public void close() {
    handle.close();
  }
}
