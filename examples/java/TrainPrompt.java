/*
 * TrainPrompt: the whole life of a soft prompt through the Java binding - the Java twin of
 * examples/c/train_prompt.c (same task, same settings, same checks).
 *
 *   java -cp build/bindings/java/softprompt.jar examples/java/TrainPrompt.java \
 *       <model-folder> <adapter-folder> [steps] [--method NAME]
 *
 * Loads a frozen model, creates an adapter of one soft-prompt method, trains it for `steps`
 * updates (default 300) on a small fixed task, prints the loss as it falls, saves the adapter in
 * PEFT's folder layout and in softprompt's single-file format, loads both back and checks that
 * each reloaded adapter gives the same evaluation loss. Exits 1 if the loss did not fall or a
 * reloaded adapter differs.
 *
 * Methods (--method): prompt (default), prefix, prefix-projection, ptuning-mlp, ptuning-lstm, mpt.
 *
 * The task: four fixed token sequences that the frozen model should learn to continue (for mpt,
 * rows alternate between two tasks). Only the soft prompt is trained; the model never changes.
 */
package dev.softprompt.examples;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.EncoderType;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.PromptInit;
import dev.softprompt.SoftPrompt;
import dev.softprompt.SoftPromptException;
import dev.softprompt.TrainResult;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.util.ArrayList;
import java.util.List;

public final class TrainPrompt {
  private static final int ROWS = 4;
  private static final int SEQ_LEN = 12;

  private TrainPrompt() {}

  /** Four sequences of ids in [3, vocabSize): a fixed pseudo-random "corpus" (the C example's). */
  private static int[] makeTask(long vocabSize) {
    int[] ids = new int[ROWS * SEQ_LEN];
    int state = 12345;
    for (int i = 0; i < ids.length; ++i) {
      state = state * 1664525 + 1013904223; // uint32 arithmetic: Java ints wrap the same way
      ids[i] = 3 + (int) ((state >>> 8) % (vocabSize - 3));
    }
    return ids;
  }

  /** Adapter settings and a learning rate that suit each method on this task; null if unknown. */
  private static AdapterOptions configure(String method, double[] learningRate) {
    AdapterOptions options = new AdapterOptions().numVirtualTokens(16).seed(42);
    learningRate[0] = 0.1;
    switch (method) {
      case "prompt":
        return options.init(PromptInit.SAMPLE_VOCAB);
      case "prefix":
        learningRate[0] = 0.05;
        return options.method(Method.PREFIX_TUNING);
      case "prefix-projection":
        learningRate[0] = 3e-3;
        return options.method(Method.PREFIX_TUNING).prefixProjection(true);
      case "ptuning-mlp":
        learningRate[0] = 3e-3;
        return options.method(Method.P_TUNING).encoderType(EncoderType.MLP);
      case "ptuning-lstm":
        learningRate[0] = 3e-3;
        return options.method(Method.P_TUNING).encoderType(EncoderType.LSTM);
      case "mpt":
        return options.method(Method.MULTITASK_PROMPT_TUNING).numTasks(2);
      default:
        return null;
    }
  }

  public static void main(String[] args) {
    String method = "prompt";
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < args.length; ++i) {
      if (args[i].equals("--method") && i + 1 < args.length) {
        method = args[++i];
      } else {
        positional.add(args[i]);
      }
    }
    double[] learningRate = new double[1];
    AdapterOptions adapterOptions = configure(method, learningRate);
    if (positional.size() < 2 || adapterOptions == null) {
      System.err.println("usage: TrainPrompt <model-folder> <adapter-folder> [steps] "
          + "[--method prompt|prefix|prefix-projection|ptuning-mlp|ptuning-lstm|mpt]");
      System.exit(2);
    }
    String modelFolder = positional.get(0);
    String adapterFolder = positional.get(1);
    int steps = positional.size() > 2 ? Integer.parseInt(positional.get(2)) : 300;
    System.out.printf("softprompt %s, method %s%n", SoftPrompt.version(), method);
    try {
      System.exit(run(modelFolder, adapterFolder, steps, adapterOptions, learningRate[0]));
    } catch (SoftPromptException e) {
      // e.status() says what kind of failure it was; the message is the library's.
      System.err.println("failed: " + e.getMessage());
      System.exit(1);
    }
  }

  private static int run(String modelFolder, String adapterFolder, int steps, AdapterOptions adapterOptions,
      double learningRate) {
    try (Model model = Model.open(modelFolder)) {
      ModelInfo info = model.info();
      System.out.printf("model: %s, %d layers, hidden %d, vocabulary %d%n", info.modelType(), info.numLayers(),
          info.hiddenSize(), info.vocabSize());
      // The task ids are used by multitask prompt tuning only.
      Batch batch = Batch.builder(ROWS, SEQ_LEN).inputIds(makeTask(info.vocabSize())).taskIds(0, 1, 0, 1).build();

      TrainerOptions trainerOptions = new TrainerOptions().learningRate(learningRate).warmupSteps(10)
          .totalSteps(steps).maxGradNorm(1.0);
      float startLoss;
      float trainedLoss;
      String singleFile = adapterFolder + ".spadapter";
      try (Adapter adapter = Adapter.create(model, adapterOptions);
          Trainer trainer = Trainer.create(adapter, trainerOptions)) {
        startLoss = adapter.evalLoss(batch).meanLoss();
        System.out.printf("step %4d  loss %.4f%n", 0, startLoss);
        for (int step = 1; step <= steps; ++step) {
          TrainResult result = trainer.step(batch);
          if (step % 25 == 0 || step == steps) {
            System.out.printf("step %4d  loss %.4f  lr %.4f  grad-norm %.3f%n", step, result.loss(),
                result.learningRate(), result.gradNorm());
          }
        }
        trainedLoss = adapter.evalLoss(batch).meanLoss();
        adapter.save(adapterFolder);
        System.out.println("saved adapter to " + adapterFolder);
        adapter.saveFile(singleFile);
        System.out.println("saved adapter to " + singleFile);
      }

      float reloadedLoss;
      float fileLoss;
      try (Adapter reloaded = Adapter.load(model, adapterFolder);
          Adapter fromFile = Adapter.loadFile(model, singleFile)) {
        reloadedLoss = reloaded.evalLoss(batch).meanLoss();
        fileLoss = fromFile.evalLoss(batch).meanLoss();
      }
      System.out.printf("evaluation loss: start %.4f, trained %.4f, reloaded from the folder %.4f, from the file %.4f%n",
          startLoss, trainedLoss, reloadedLoss, fileLoss);

      if (Math.abs(trainedLoss - reloadedLoss) > 1e-5f || Math.abs(trainedLoss - fileLoss) > 1e-5f) {
        System.err.println("a reloaded adapter gives a different loss");
        return 1;
      }
      if (!(trainedLoss < startLoss)) {
        System.err.println("the loss did not fall");
        return 1;
      }
      return 0;
    }
  }
}
