package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter_params;

/**
 * What adapter to create (every field of sp_adapter_params). A new instance holds the C library's
 * defaults; the library validates the combination when the adapter is created.
 */
public final class AdapterOptions {
  private Method method;
  private int numVirtualTokens;
  private PromptInit init;
  private int[] initTokenIds;
  private String initText;
  private String tokenizerNameOrPath;
  private long seed;
  private int encoderHiddenSize;
  private boolean prefixProjection;
  private boolean prefixZeroInit;
  private EncoderType encoderType;
  private int encoderNumLayers;
  private float encoderDropout;
  private int numTasks;
  private int numRanks;
  private String sourceAdapter;
  private int sourceTask;
  private TaskType taskType;
  private int numLabels;

  public AdapterOptions() {
    sp_adapter_params defaults = SoftPromptNative.sp_adapter_default_params();
    try {
      method = Method.of(defaults.getMethod());
      numVirtualTokens = defaults.getNum_virtual_tokens();
      init = PromptInit.of(defaults.getInit());
      seed = defaults.getSeed();
      encoderHiddenSize = defaults.getEncoder_hidden_size();
      prefixProjection = defaults.getPrefix_projection() != 0;
      prefixZeroInit = defaults.getPrefix_zero_init() != 0;
      encoderType = EncoderType.of(defaults.getEncoder_type());
      encoderNumLayers = defaults.getEncoder_num_layers();
      encoderDropout = defaults.getEncoder_dropout();
      numTasks = defaults.getNum_tasks();
      numRanks = defaults.getNum_ranks();
      sourceTask = defaults.getSource_task();
      taskType = TaskType.of(defaults.getTask_type());
      numLabels = defaults.getNum_labels();
    } finally {
      defaults.delete();
    }
  }

  public Method method() {
    return method;
  }

  public AdapterOptions method(Method method) {
    this.method = Checks.notNull(method, "method");
    return this;
  }

  public int numVirtualTokens() {
    return numVirtualTokens;
  }

  public AdapterOptions numVirtualTokens(int numVirtualTokens) {
    this.numVirtualTokens = numVirtualTokens;
    return this;
  }

  public PromptInit init() {
    return init;
  }

  public AdapterOptions init(PromptInit init) {
    this.init = Checks.notNull(init, "init");
    return this;
  }

  /** The tokenised init text for {@link PromptInit#TEXT} (a copy), or null. */
  public int[] initTokenIds() {
    return initTokenIds == null ? null : initTokenIds.clone();
  }

  public AdapterOptions initTokenIds(int... initTokenIds) {
    this.initTokenIds = initTokenIds == null ? null : initTokenIds.clone();
    return this;
  }

  /**
   * PromptInit.TEXT without initTokenIds: the text is encoded as PEFT encodes its init text
   * (special tokens included) with the tokenizer tokenizerNameOrPath names when that is a local
   * path, else the model's own; recorded in adapter_config.json.
   */
  public String initText() {
    return initText;
  }

  public AdapterOptions initText(String initText) {
    this.initText = initText;
    return this;
  }

  /** A local tokenizer.json or folder for initText (else the model's); recorded in adapter_config.json. */
  public String tokenizerNameOrPath() {
    return tokenizerNameOrPath;
  }

  public AdapterOptions tokenizerNameOrPath(String tokenizerNameOrPath) {
    this.tokenizerNameOrPath = tokenizerNameOrPath;
    return this;
  }

  /**
   * Seed of the random draws (an unsigned 64-bit value in C; a long with the same bits here).
   * The same seed as torch.manual_seed gives PEFT's initial values.
   */
  public long seed() {
    return seed;
  }

  public AdapterOptions seed(long seed) {
    this.seed = seed;
    return this;
  }

  /** Width of the reparameterisation network; 0 = the model's hidden size. */
  public int encoderHiddenSize() {
    return encoderHiddenSize;
  }

  public AdapterOptions encoderHiddenSize(int encoderHiddenSize) {
    this.encoderHiddenSize = encoderHiddenSize;
    return this;
  }

  /** Prefix tuning: produce the prefix with an MLP. */
  public boolean prefixProjection() {
    return prefixProjection;
  }

  public AdapterOptions prefixProjection(boolean prefixProjection) {
    this.prefixProjection = prefixProjection;
    return this;
  }

  /** Prefix tuning: PEFT's init_weights "zero". */
  public boolean prefixZeroInit() {
    return prefixZeroInit;
  }

  public AdapterOptions prefixZeroInit(boolean prefixZeroInit) {
    this.prefixZeroInit = prefixZeroInit;
    return this;
  }

  /** P-tuning's encoder. */
  public EncoderType encoderType() {
    return encoderType;
  }

  public AdapterOptions encoderType(EncoderType encoderType) {
    this.encoderType = Checks.notNull(encoderType, "encoderType");
    return this;
  }

  /** P-tuning LSTM layers (ignored by the MLP). */
  public int encoderNumLayers() {
    return encoderNumLayers;
  }

  public AdapterOptions encoderNumLayers(int encoderNumLayers) {
    this.encoderNumLayers = encoderNumLayers;
    return this;
  }

  /** P-tuning LSTM dropout between layers, in [0, 1). */
  public float encoderDropout() {
    return encoderDropout;
  }

  public AdapterOptions encoderDropout(float encoderDropout) {
    this.encoderDropout = encoderDropout;
    return this;
  }

  /** Multitask prompt tuning: number of tasks. */
  public int numTasks() {
    return numTasks;
  }

  public AdapterOptions numTasks(int numTasks) {
    this.numTasks = numTasks;
    return this;
  }

  /** Multitask prompt tuning: rank of each task's factorisation. */
  public int numRanks() {
    return numRanks;
  }

  public AdapterOptions numRanks(int numRanks) {
    this.numRanks = numRanks;
    return this;
  }

  /** Multitask prompt tuning SOURCE inits: a PEFT MPT adapter folder or its safetensors file. */
  public String sourceAdapter() {
    return sourceAdapter;
  }

  public AdapterOptions sourceAdapter(String sourceAdapter) {
    this.sourceAdapter = sourceAdapter;
    return this;
  }

  /** {@link PromptInit#EXACT_SOURCE_TASK}: the source task to copy. */
  public int sourceTask() {
    return sourceTask;
  }

  public AdapterOptions sourceTask(int sourceTask) {
    this.sourceTask = sourceTask;
    return this;
  }

  /** What the adapter is trained for; default {@link TaskType#CAUSAL_LM}. */
  public TaskType taskType() {
    return taskType;
  }

  public AdapterOptions taskType(TaskType taskType) {
    this.taskType = Checks.notNull(taskType, "taskType");
    return this;
  }

  /**
   * {@link TaskType#SEQ_CLS} and {@link TaskType#TOKEN_CLS}: the head's classes, in [2, 2^20];
   * default 2; ignored by the other tasks. The head starts as transformers initialises a missing
   * head after torch.manual_seed(seed), so a seed reproduces PEFT's values.
   */
  public int numLabels() {
    return numLabels;
  }

  public AdapterOptions numLabels(int numLabels) {
    this.numLabels = numLabels;
    return this;
  }

  /**
   * A native copy of the scalar fields (struct_size set by the library); the caller deletes it.
   * The arrays and strings travel as separate arguments of spb_adapter_create.
   */
  sp_adapter_params toNative() {
    sp_adapter_params params = SoftPromptNative.sp_adapter_default_params();
    params.setMethod(method.c);
    params.setNum_virtual_tokens(numVirtualTokens);
    params.setInit(init.c);
    params.setSeed(seed);
    params.setEncoder_hidden_size(encoderHiddenSize);
    params.setPrefix_projection(prefixProjection ? 1 : 0);
    params.setPrefix_zero_init(prefixZeroInit ? 1 : 0);
    params.setEncoder_type(encoderType.c);
    params.setEncoder_num_layers(encoderNumLayers);
    params.setEncoder_dropout(encoderDropout);
    params.setNum_tasks(numTasks);
    params.setNum_ranks(numRanks);
    params.setSource_task(sourceTask);
    params.setTask_type(taskType.c);
    params.setNum_labels(numLabels);
    return params;
  }

  @Override
  public String toString() {
    return "AdapterOptions{method=" + method + ", numVirtualTokens=" + numVirtualTokens + ", init=" + init
        + ", initTokenIds=" + java.util.Arrays.toString(initTokenIds) + ", initText=" + initText
        + ", tokenizerNameOrPath=" + tokenizerNameOrPath + ", seed=" + Long.toUnsignedString(seed)
        + ", encoderHiddenSize=" + encoderHiddenSize + ", prefixProjection=" + prefixProjection
        + ", prefixZeroInit=" + prefixZeroInit + ", encoderType=" + encoderType + ", encoderNumLayers="
        + encoderNumLayers + ", encoderDropout=" + encoderDropout + ", numTasks=" + numTasks + ", numRanks="
        + numRanks + ", sourceAdapter=" + sourceAdapter + ", sourceTask=" + sourceTask + ", taskType=" + taskType
        + ", numLabels=" + numLabels + "}";
  }
}
