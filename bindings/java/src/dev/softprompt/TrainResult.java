package dev.softprompt;

import dev.softprompt.internal.sp_train_result;

/** What one {@link Trainer#step} did (sp_train_result). */
public final class TrainResult {
  private final float loss;
  private final boolean updated;
  private final float gradNorm;
  private final float learningRate;
  private final long updatesDone;

  TrainResult(sp_train_result result) {
    loss = result.getLoss();
    updated = result.getUpdated() != 0;
    gradNorm = result.getGrad_norm();
    learningRate = result.getLearning_rate();
    updatesDone = result.getUpdates_done();
  }

  /** Mean loss of this micro-batch. */
  public float loss() {
    return loss;
  }

  /** Whether this step applied an optimiser update (every accumulationSteps steps). */
  public boolean updated() {
    return updated;
  }

  /** Total gradient norm before clipping (when updated). */
  public float gradNorm() {
    return gradNorm;
  }

  /** Learning rate of that update (when updated). */
  public float learningRate() {
    return learningRate;
  }

  /** Optimiser updates so far. */
  public long updatesDone() {
    return updatesDone;
  }

  @Override
  public String toString() {
    return "TrainResult{loss=" + loss + ", updated=" + updated + ", gradNorm=" + gradNorm + ", learningRate="
        + learningRate + ", updatesDone=" + updatesDone + "}";
  }
}
