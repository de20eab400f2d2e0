package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter;
import dev.softprompt.internal.sp_adapter_info;
import dev.softprompt.internal.sp_adapter_params;
import dev.softprompt.internal.sp_model;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * A soft prompt of one method on one model (sp_adapter). Calls on one adapter are serialised by
 * the library, so sharing an adapter between threads is safe but not parallel; use one adapter
 * per thread for parallel work (several adapters may share a model).
 *
 * <p>The adapter keeps its {@link Model} object reachable (and the library keeps the native model
 * alive), so it stays usable even if the Model is closed first.
 */
public final class Adapter implements AutoCloseable {
  private static final BatchCalls<sp_adapter> CALLS = new BatchCalls<>(SoftPromptNative::spb_adapter_logits,
      SoftPromptNative::spb_adapter_eval_loss, SoftPromptNative::spb_adapter_hidden_states);

  private final NativeHandle<sp_adapter> handle;
  private final Model model;

  private Adapter(Model model, sp_adapter pointer) {
    this.handle = NativeHandle.register(this, "Adapter", pointer, SoftPromptNative::sp_adapter_free);
    this.model = model;
  }

  /**
   * Creates a trainable adapter on model.
   *
   * @throws SoftPromptException INVALID_ARGUMENT, OUT_OF_RANGE, or the source adapter's NOT_FOUND,
   *     FORMAT, SHAPE_MISMATCH
   */
  public static Adapter create(Model model, AdapterOptions options) {
    Checks.notNull(model, "model");
    Checks.notNull(options, "options");
    sp_model nativeModel = model.acquire();
    sp_adapter_params params = null;
    try {
      params = options.toNative();
      sp_adapter pointer = SoftPromptNative.spb_adapter_create(nativeModel, params, options.initTokenIds(),
          options.initText(), options.tokenizerNameOrPath(), options.sourceAdapter());
      if (pointer == null) {
        throw Errors.last();
      }
      return new Adapter(model, pointer);
    } finally {
      model.release();
      if (params != null) {
        params.delete();
      }
    }
  }

  /**
   * Loads a PEFT-layout adapter folder (adapter_config.json + adapter_model.safetensors) onto
   * model. P-tuning and projected prefixes come back as plain tables (PEFT stores only their
   * encoder outputs).
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED, SHAPE_MISMATCH
   */
  public static Adapter load(Model model, String folder) {
    return open(model, nativeModel -> SoftPromptNative.spb_adapter_load(nativeModel, folder));
  }

  /**
   * Loads a file written by {@link #saveFile} onto model (encoders included).
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED, MODEL_MISMATCH
   */
  public static Adapter loadFile(Model model, String path) {
    return open(model, nativeModel -> SoftPromptNative.spb_adapter_load_file(nativeModel, path));
  }

  /**
   * Describes an adapter without loading any model, as a JSON object: a PEFT folder, a file of
   * {@link #saveFile} or a trainer state of {@link Trainer#saveState} ("format", "method",
   * "peft_config", "tensors", "parameter_count", and for softprompt's files "base_model", for
   * trainer states "trainer"; see sp_adapter_describe in softprompt.h).
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED
   */
  public static String describe(String path) {
    Checks.notNull(path, "path");
    return SizedOutput.readText(4096, "the description", out -> SoftPromptNative.spb_adapter_describe(path, out));
  }

  /** Runs one of the loading calls on model's handle and wraps the adapter it returns. */
  private static Adapter open(Model model, Function<sp_model, sp_adapter> load) {
    Checks.notNull(model, "model");
    sp_model nativeModel = model.acquire();
    try {
      sp_adapter pointer = load.apply(nativeModel);
      if (pointer == null) {
        throw Errors.last();
      }
      return new Adapter(model, pointer);
    } finally {
      model.release();
    }
  }

  /** The model this adapter was created on. */
  public Model model() {
    return model;
  }

  /** Writes PEFT's folder layout, creating the folder if needed (atomically per file). */
  public void save(String folder) {
    sp_adapter adapter = handle.acquire();
    try {
      Errors.check(SoftPromptNative.sp_adapter_save(adapter, folder));
    } finally {
      handle.release();
    }
  }

  /** Writes softprompt's single-file format (everything trainable, encoders included). */
  public void saveFile(String path) {
    sp_adapter adapter = handle.acquire();
    try {
      Errors.check(SoftPromptNative.sp_adapter_save_file(adapter, path));
    } finally {
      handle.release();
    }
  }

  public AdapterInfo info() {
    sp_adapter adapter = handle.acquire();
    try {
      sp_adapter_info info = SoftPromptNative.spb_adapter_info(adapter);
      try {
        if (info.getStruct_size() == 0) {
          throw Errors.last();
        }
        return new AdapterInfo(Method.of(info.getMethod()), info.getNum_virtual_tokens(), info.getNum_tasks(),
            info.getNum_parameter_tensors(), info.getNum_trainable_parameters(), info.getVocab_size(),
            TaskType.of(info.getTask_type()), info.getNum_labels(), info.getHidden_size(), info.getVersion());
      } finally {
        info.delete();
      }
    } finally {
      handle.release();
    }
  }

  /** Names of the trainable tensors, as PEFT names them in memory ("embedding.weight", ...). */
  public List<String> parameterNames() {
    int count = info().numParameterTensors();
    List<String> names = new ArrayList<>(count);
    sp_adapter adapter = handle.acquire();
    try {
      for (int i = 0; i < count; ++i) {
        String name = SoftPromptNative.spb_adapter_parameter_name(adapter, i);
        if (name == null) {
          throw Errors.last();
        }
        names.add(name);
      }
    } finally {
      handle.release();
    }
    return Collections.unmodifiableList(names);
  }

  /** Number of float32 values in trainable tensor name. @throws SoftPromptException NOT_FOUND */
  public long parameterSize(String name) {
    sp_adapter adapter = handle.acquire();
    try {
      long size = SoftPromptNative.spb_adapter_parameter_size(adapter, name);
      if (size < 0) {
        throw Errors.last();
      }
      return size;
    } finally {
      handle.release();
    }
  }

  /**
   * Shape of trainable tensor name in PEFT's layout: "lstm_head.weight_ih_l0" is
   * {4 * encoderHiddenSize, hidden size} (PyTorch's i, f, g, o gate blocks), MPT's
   * "prefix_task_cols" {numTasks, numVirtualTokens, numRanks}. The product of the dimensions is
   * {@link #parameterSize}; {@link #parameter} returns the values in this shape, row-major.
   *
   * @throws SoftPromptException NOT_FOUND for unknown names
   */
  public long[] parameterShape(String name) {
    long[] dims = new long[SoftPromptNative.SP_MAX_PARAMETER_DIMS];
    sp_adapter adapter = handle.acquire();
    try {
      long rank = SoftPromptNative.spb_adapter_parameter_shape(adapter, name, dims);
      if (rank < 0) {
        throw Errors.last();
      }
      return Arrays.copyOf(dims, (int) rank);
    } finally {
      handle.release();
    }
  }

  /** Current values of trainable tensor name, row-major. @throws SoftPromptException NOT_FOUND */
  public float[] parameter(String name) {
    sp_adapter adapter = handle.acquire();
    try {
      long size = SoftPromptNative.spb_adapter_parameter_size(adapter, name);
      if (size < 0) {
        throw Errors.last();
      }
      float[] values = new float[Checks.arrayLength(size, "parameter " + name)];
      Errors.check(SoftPromptNative.spb_adapter_get_parameter(adapter, name, values));
      return values;
    } finally {
      handle.release();
    }
  }

  /**
   * Logits with the soft prompt; see {@link LogitsMode} for the size. {@link TaskType#CAUSAL_LM} and
   * {@link TaskType#SEQ_2_SEQ_LM} adapters only (UNSUPPORTED otherwise: {@link #classify},
   * {@link #hiddenStates}); SEQ_2_SEQ_LM logits are the decoder's, at its {@link Batch#decoderSeqLen}
   * positions.
   */
  public float[] logits(Batch batch, LogitsMode mode) {
    return CALLS.logits(handle, model.vocabSize(), batch, mode);
  }

  /**
   * Floats a logits call of mode returns for batch (batchSize [* seqLen, or * decoderSeqLen for a
   * batch with a decoder side] * vocabSize of the adapter's model, from the library): the length out needs in {@link #logits(Batch, LogitsMode, float[])}.
   *
   * @throws SoftPromptException INVALID_ARGUMENT for non-positive sizes
   */
  public long logitsCount(Batch batch, LogitsMode mode) {
    return BatchCalls.logitsCount(model.vocabSize(), batch, mode);
  }

  /** Logits with the soft prompt into out, which must hold the whole result (see logitsCount). */
  public void logits(Batch batch, LogitsMode mode, float[] out) {
    CALLS.logits(handle, batch, mode, out);
  }

  /**
   * Mean loss and per-row log-likelihood with the soft prompt, for the adapter's task:
   * {@link TaskType#CAUSAL_LM} the causal-LM loss (for prompt methods the last virtual token predicts
   * the first real token, so that token is a target too, as in PEFT); {@link TaskType#SEQ_CLS} the
   * cross-entropy of the batch's row labels (required; a row's log-likelihood is log p(its label));
   * {@link TaskType#TOKEN_CLS} the cross-entropy of the batch's labels (class ids, required; -100
   * ignored); {@link TaskType#SEQ_2_SEQ_LM} the cross-entropy of the decoder's targets (the batch's
   * labels, batchSize * decoderSeqLen; position i predicts label i);
   * {@link TaskType#FEATURE_EXTRACTION} has none (UNSUPPORTED). Changes nothing.
   */
  public Evaluation evalLoss(Batch batch) {
    return CALLS.evalLoss(handle, batch);
  }

  /**
   * Class scores of a {@link TaskType#SEQ_CLS} or {@link TaskType#TOKEN_CLS} adapter (the prompt,
   * the model, the head) as a new array, row-major: SEQ_CLS batchSize * numLabels values, TOKEN_CLS
   * batchSize * seqLen * numLabels (the caller's positions; padded positions are computed too and
   * carry no meaning), numLabels from {@link #info}. Labels in the batch are not read. Changes nothing.
   *
   * @throws SoftPromptException UNSUPPORTED for an adapter of another task, and the batch errors of
   *     {@link #logits}
   */
  public float[] classify(Batch batch, ClassOutput what) {
    Checks.notNull(batch, "batch");
    Checks.notNull(what, "what");
    AdapterInfo info = info();
    long perRow = info.taskType() == TaskType.TOKEN_CLS ? (long) batch.seqLen() * info.numLabels() : info.numLabels();
    float[] out = new float[BatchCalls.outputLength(batch, perRow, "the class scores")];
    BatchCalls.call(handle, batch, (adapter, rows) -> SoftPromptNative.spb_adapter_classify(adapter,
        batch.batchSize(), batch.seqLen(), batch.inputIds, batch.attentionMask, batch.labels, batch.taskIds,
        batch.tokenTypeIds, batch.rowLabels, batch.decoderSeqLen(), batch.decoderInputIds, rows, what.c, out));
    return out;
  }

  /**
   * Final hidden states with the soft prompt at the caller's positions, batchSize * seqLen *
   * {@link AdapterInfo#hiddenSize} floats: after the last norm for decoders, the last block's output
   * for encoders (transformers' last_hidden_state); prompt methods' virtual positions are left out.
   * Any task type but {@link TaskType#SEQ_2_SEQ_LM} (UNSUPPORTED: use logits or losses). Changes
   * nothing.
   */
  public float[] hiddenStates(Batch batch) {
    Checks.notNull(batch, "batch");
    return CALLS.hiddenStates(handle, info().hiddenSize(), batch);
  }

  /**
   * The native handle for one call (paired with {@link #release()}); for Trainer.create, Context.create
   * and the arrays of adapters (AdapterHandles).
   */
  sp_adapter acquire() {
    return handle.acquire();
  }

  void release() {
    handle.release();
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Releases this reference to the native adapter (trainers on it keep it alive). Idempotent. */
  @Override
  public void close() {
    handle.close();
  }
}
