package dev.softprompt;

/** What an adapter is (sp_adapter_info). */
public final class AdapterInfo {
  private final Method method;
  private final int numVirtualTokens;
  private final int numTasks;
  private final int numParameterTensors;
  private final long numTrainableParameters;
  private final long vocabSize;

  AdapterInfo(Method method, int numVirtualTokens, int numTasks, int numParameterTensors,
      long numTrainableParameters, long vocabSize) {
    this.method = method;
    this.numVirtualTokens = numVirtualTokens;
    this.numTasks = numTasks;
    this.numParameterTensors = numParameterTensors;
    this.numTrainableParameters = numTrainableParameters;
    this.vocabSize = vocabSize;
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

  @Override
  public String toString() {
    return "AdapterInfo{method=" + method + ", numVirtualTokens=" + numVirtualTokens + ", numTasks=" + numTasks
        + ", numParameterTensors=" + numParameterTensors + ", numTrainableParameters=" + numTrainableParameters
        + ", vocabSize=" + vocabSize + "}";
  }
}
