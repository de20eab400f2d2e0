package dev.softprompt;

/** What an adapter is (sp_adapter_info). */
public final class AdapterInfo {
  private final Method method;
  private final int numVirtualTokens;
  private final int numTasks;
  private final int numParameterTensors;
  private final long numTrainableParameters;
  private final long vocabSize;
  private final TaskType taskType;
  private final int numLabels;
  private final long hiddenSize;
  private final long version;

  AdapterInfo(Method method, int numVirtualTokens, int numTasks, int numParameterTensors,
      long numTrainableParameters, long vocabSize, TaskType taskType, int numLabels, long hiddenSize, long version) {
    this.method = method;
    this.numVirtualTokens = numVirtualTokens;
    this.numTasks = numTasks;
    this.numParameterTensors = numParameterTensors;
    this.numTrainableParameters = numTrainableParameters;
    this.vocabSize = vocabSize;
    this.taskType = taskType;
    this.numLabels = numLabels;
    this.hiddenSize = hiddenSize;
    this.version = version;
  }

  public Method method() {
    return method;
  }

  public int numVirtualTokens() {
    return numVirtualTokens;
  }

  /** Multitask prompt tuning's task count; 0 for the other methods. */
  public int numTasks() {
    return numTasks;
  }

  /** Number of trainable tensors (their names: {@link Adapter#parameterNames()}). */
  public int numParameterTensors() {
    return numParameterTensors;
  }

  /** float32 values over all trainable tensors. */
  public long numTrainableParameters() {
    return numTrainableParameters;
  }

  /**
   * The vocabulary of the adapter's model: {@link Adapter#logits} returns batchSize (times seqLen
   * for {@link LogitsMode#ALL}) times this many floats.
   */
  public long vocabSize() {
    return vocabSize;
  }

  /** What the adapter is trained for. */
  public TaskType taskType() {
    return taskType;
  }

  /**
   * The head's classes for {@link TaskType#SEQ_CLS} and {@link TaskType#TOKEN_CLS}; 0 for the other
   * tasks. {@link Adapter#classify} returns batchSize (times seqLen for TOKEN_CLS) times this many floats.
   */
  public int numLabels() {
    return numLabels;
  }

  /** The model's hidden size: {@link Adapter#hiddenStates} returns batchSize * seqLen * this many floats. */
  public long hiddenSize() {
    return hiddenSize;
  }

  /**
   * Counts changes to the adapter's values: 1 after create or load, one more per {@link Trainer#step}
   * that updates them and per {@link Trainer#loadState}. A call uses the compiled prompt of the version
   * current when it began (see "Serving many adapters" in the README). The C value is a uint64: read it
   * with {@link Long#compareUnsigned} past 2^63.
   */
  public long version() {
    return version;
  }

  @Override
  public String toString() {
    return "AdapterInfo{method=" + method + ", numVirtualTokens=" + numVirtualTokens + ", numTasks=" + numTasks
        + ", numParameterTensors=" + numParameterTensors + ", numTrainableParameters=" + numTrainableParameters
        + ", vocabSize=" + vocabSize + ", taskType=" + taskType + ", numLabels=" + numLabels + ", hiddenSize="
        + hiddenSize + ", version=" + Long.toUnsignedString(version) + "}";
  }
}
