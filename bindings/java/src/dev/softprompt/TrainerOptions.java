package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_trainer_params;

/**
 * Optimiser settings (sp_trainer_params): AdamW with a linear warm-up and decay schedule, as
 * transformers' get_linear_schedule_with_warmup. A new instance holds the C library's defaults.
 */
public final class TrainerOptions {
  private double learningRate;
  private double beta1;
  private double beta2;
  private double eps;
  private double weightDecay;
  private double maxGradNorm;
  private int warmupSteps;
  private int totalSteps;
  private int accumulationSteps;

  public TrainerOptions() {
    sp_trainer_params defaults = SoftPromptNative.sp_trainer_default_params();
    try {
      learningRate = defaults.getLearning_rate();
      beta1 = defaults.getBeta1();
      beta2 = defaults.getBeta2();
      eps = defaults.getEps();
      weightDecay = defaults.getWeight_decay();
      maxGradNorm = defaults.getMax_grad_norm();
      warmupSteps = defaults.getWarmup_steps();
      totalSteps = defaults.getTotal_steps();
      accumulationSteps = defaults.getAccumulation_steps();
    } finally {
      defaults.delete();
    }
  }

  /** Peak learning rate. */
  public double learningRate() {
    return learningRate;
  }

  public TrainerOptions learningRate(double learningRate) {
    this.learningRate = learningRate;
    return this;
  }

  public double beta1() {
    return beta1;
  }

  public TrainerOptions beta1(double beta1) {
    this.beta1 = beta1;
    return this;
  }

  public double beta2() {
    return beta2;
  }

  public TrainerOptions beta2(double beta2) {
    this.beta2 = beta2;
    return this;
  }

  public double eps() {
    return eps;
  }

  public TrainerOptions eps(double eps) {
    this.eps = eps;
    return this;
  }

  /** Decoupled weight decay (AdamW). */
  public double weightDecay() {
    return weightDecay;
  }

  public TrainerOptions weightDecay(double weightDecay) {
    this.weightDecay = weightDecay;
    return this;
  }

  /** Clip the total gradient norm to this; 0 = off. */
  public double maxGradNorm() {
    return maxGradNorm;
  }

  public TrainerOptions maxGradNorm(double maxGradNorm) {
    this.maxGradNorm = maxGradNorm;
    return this;
  }

  /** Linear warm-up from 0 over this many updates. */
  public int warmupSteps() {
    return warmupSteps;
  }

  public TrainerOptions warmupSteps(int warmupSteps) {
    this.warmupSteps = warmupSteps;
    return this;
  }

  /** Linear decay to 0 at this update; 0 = constant rate after the warm-up. */
  public int totalSteps() {
    return totalSteps;
  }

  public TrainerOptions totalSteps(int totalSteps) {
    this.totalSteps = totalSteps;
    return this;
  }

  /** Micro-batches (steps) per optimiser update. */
  public int accumulationSteps() {
    return accumulationSteps;
  }

  public TrainerOptions accumulationSteps(int accumulationSteps) {
    this.accumulationSteps = accumulationSteps;
    return this;
  }

  /** A native copy (struct_size set by the library); the caller deletes it. */
  sp_trainer_params toNative() {
    sp_trainer_params params = SoftPromptNative.sp_trainer_default_params();
    params.setLearning_rate(learningRate);
    params.setBeta1(beta1);
    params.setBeta2(beta2);
    params.setEps(eps);
    params.setWeight_decay(weightDecay);
    params.setMax_grad_norm(maxGradNorm);
    params.setWarmup_steps(warmupSteps);
    params.setTotal_steps(totalSteps);
    params.setAccumulation_steps(accumulationSteps);
    return params;
  }

  @Override
  public String toString() {
    return "TrainerOptions{learningRate=" + learningRate + ", beta1=" + beta1 + ", beta2=" + beta2 + ", eps=" + eps
        + ", weightDecay=" + weightDecay + ", maxGradNorm=" + maxGradNorm + ", warmupSteps=" + warmupSteps
        + ", totalSteps=" + totalSteps + ", accumulationSteps=" + accumulationSteps + "}";
  }
}
