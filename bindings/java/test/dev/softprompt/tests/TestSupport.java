package dev.softprompt.tests;

import dev.softprompt.Batch;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.AdapterOptions;
import dev.softprompt.EncoderType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Paths given by the test command (-Dsoftprompt.test.*), the fixed task and small helpers. */
final class TestSupport {
  static final int ROWS = 4;
  static final int SEQ = 10;

  private TestSupport() {}

  /** The tiny llama model folder (ctest fixture "models"; vocabulary 256, hidden 64, 2 layers). */
  static String modelFolder() {
    return property("softprompt.test.model");
  }

  /**
   * The tiny llama with a byte-level tokenizer (fixture "tokenizer_binding_reference"; model
   * vocabulary 256, tokenizer vocabulary 50257).
   */
  static String generationModelFolder() {
    return property("softprompt.test.generationModel");
  }

  /** What the C API returned on the reference input (ctest fixture "binding_reference"). */
  static Path referenceFolder() {
    return Paths.get(property("softprompt.test.reference"));
  }

  /**
   * What tests/reference/encoder_reference.py wrote (ctest fixture "encoder_reference"): the tiny
   * BERT and RoBERTa under models/, transformers' and PEFT's outputs under bert/ and roberta/.
   */
  static Path encoderReferenceFolder() {
    return Paths.get(property("softprompt.test.encoderReference"));
  }

  /**
   * What tests/reference/t5_reference.py wrote (ctest fixture "t5_reference"): the tiny T5 models
   * under models/, transformers' and PEFT's outputs under t5/ and t5v11/.
   */
  static Path t5ReferenceFolder() {
    return Paths.get(property("softprompt.test.t5Reference"));
  }

  /** A fresh, empty scratch folder for one test. */
  static Path scratch(String name) throws IOException {
    Path folder = Paths.get(property("softprompt.test.scratch")).resolve(name);
    deleteRecursively(folder);
    return Files.createDirectories(folder);
  }

  static Model openModel() {
    return Model.open(modelFolder());
  }

  /**
   * Four fixed sequences for the adapters to learn (the same generator as tests/c/test_training.c),
   * rows alternating between tasks 0 and 1 for multitask prompt tuning.
   */
  static Batch taskBatch() {
    int[] ids = new int[ROWS * SEQ];
    int state = 99;
    for (int i = 0; i < ids.length; ++i) {
      state = state * 1103515245 + 12345;
      ids[i] = 3 + (int) (Integer.toUnsignedLong(state >>> 10) % 250);
    }
    return Batch.builder(ROWS, SEQ).inputIds(ids).taskIds(0, 1, 0, 1).build();
  }

  /** One configuration per method the library offers, with the learning rate the C training
   *  suite uses for it. */
  enum MethodCase {
    PROMPT_TUNING(0.1),
    PREFIX_TUNING(0.05),
    PREFIX_TUNING_PROJECTION(3e-3),
    P_TUNING_MLP(3e-3),
    P_TUNING_LSTM(3e-3),
    MULTITASK_PROMPT_TUNING(0.1);

    final double learningRate;

    MethodCase(double learningRate) {
      this.learningRate = learningRate;
    }

    /** Fresh options (8 virtual tokens, seed 1) for this case. */
    AdapterOptions options() {
      AdapterOptions options = new AdapterOptions().numVirtualTokens(8).seed(1);
      switch (this) {
        case PROMPT_TUNING:
          return options.method(Method.PROMPT_TUNING);
        case PREFIX_TUNING:
          return options.method(Method.PREFIX_TUNING);
        case PREFIX_TUNING_PROJECTION:
          return options.method(Method.PREFIX_TUNING).prefixProjection(true);
        case P_TUNING_MLP:
          return options.method(Method.P_TUNING).encoderType(EncoderType.MLP);
        case P_TUNING_LSTM:
          return options.method(Method.P_TUNING).encoderType(EncoderType.LSTM);
        case MULTITASK_PROMPT_TUNING:
          return options.method(Method.MULTITASK_PROMPT_TUNING).numTasks(2);
        default:
          throw new AssertionError(this);
      }
    }
  }

  /** Raw little-endian float32 values. */
  static float[] readFloats(Path file) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    float[] values = new float[bytes.remaining() / Float.BYTES];
    bytes.asFloatBuffer().get(values);
    return values;
  }

  /** Raw little-endian int32 values. */
  static int[] readInts(Path file) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int[] values = new int[bytes.remaining() / Integer.BYTES];
    bytes.asIntBuffer().get(values);
    return values;
  }

  /**
   * tests/c/tolerance_rule.h's tolerance_rule_forward_length: the reduction length of one
   * transformer forward pass from plain sizes (keys: the attention's key count; encoderLength: what
   * came before the blocks, e.g. a prompt encoder).
   */
  static double forwardLength(double layers, double hidden, double heads, double headDim, double intermediate,
      double keys, double encoderLength) {
    double perLayer = hidden * 4 + 2.0 * headDim + keys + heads * headDim + intermediate;
    return encoderLength + layers * perLayer + 2.0 * hidden;
  }

  /**
   * The suites' one tolerance rule (tests/c/tolerance_rule.h): |ours - reference| <= 4 * 2^-24 *
   * length * max|reference| for every element, float32.
   */
  static void assertWithinToleranceRule(String what, float[] expected, float[] actual, double length) {
    org.junit.Assert.assertEquals(what + ": length", expected.length, actual.length);
    double magnitude = 0;
    for (float value : expected) {
      magnitude = Math.max(magnitude, Math.abs(value));
    }
    double bound = 4.0 * Math.scalb(1.0, -24) * length * magnitude;
    for (int i = 0; i < expected.length; ++i) {
      double difference = Math.abs((double) expected[i] - actual[i]);
      org.junit.Assert.assertTrue(
          what + "[" + i + "]: " + actual[i] + " vs " + expected[i] + " (bound " + bound + ")", difference <= bound);
    }
  }

  static void deleteRecursively(Path path) throws IOException {
    if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (java.util.stream.Stream<Path> children = Files.list(path)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          deleteRecursively(child);
        }
      }
    }
    Files.deleteIfExists(path);
  }

  private static String property(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException("the test command must set -D" + name + " (ctest java_tests does)");
    }
    return value;
  }
}
