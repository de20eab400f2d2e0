package dev.softprompt;

/** Result of evalLoss: the mean loss of the task (causal-LM or classification) and each row's log-likelihood. */
public final class Evaluation {
  private final float meanLoss;
  private final float[] rowLogLikelihoods;

  Evaluation(float meanLoss, float[] rowLogLikelihoods) {
    this.meanLoss = meanLoss;
    this.rowLogLikelihoods = rowLogLikelihoods;
  }

  /** Mean cross-entropy over the batch's targets. */
  public float meanLoss() {
    return meanLoss;
  }

  /** For each row, the sum of the log-probabilities of its targets (a copy). */
  public float[] rowLogLikelihoods() {
    return rowLogLikelihoods.clone();
  }

  @Override
  public String toString() {
    return "Evaluation{meanLoss=" + meanLoss + ", rowLogLikelihoods=" + java.util.Arrays.toString(rowLogLikelihoods)
        + "}";
  }
}
