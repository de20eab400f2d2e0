package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterInfo;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.ClassOutput;
import dev.softprompt.EncoderType;
import dev.softprompt.Evaluation;
import dev.softprompt.LogitsMode;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.TaskType;
import dev.softprompt.TrainResult;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Encoders and task types through Java, on the tiny BERT of the encoder_reference fixture
 * (tests/reference/encoder_reference.py): model information, a P-tuning SEQ_CLS adapter whose class
 * scores, loss and starting head are transformers'/PEFT's for the same settings, hidden states,
 * training on row labels, and the errors the new batch arrays and calls bring.
 */
public class EncoderTaskTest {
  // encoder_reference.py's constants: the batch is 3 rows of 7, the ptuning_mlp case has 4 virtual
  // tokens, an encoder of width 16 and seed 11; the heads have 3 classes.
  private static final int ROWS = 3;
  private static final int SEQ = 7;
  private static final int NUM_VIRTUAL_TOKENS = 4;
  private static final int ENCODER_HIDDEN_SIZE = 16;
  private static final long SEED = 11;
  private static final int NUM_LABELS = 3;
  private static final int INTERMEDIATE_SIZE = 64; // config.json's intermediate_size (not in sp_model_info)

  private static Path reference;
  private static Model bert;
  private static Adapter adapter;
  private static Batch batch;

  @BeforeClass
  public static void openBert() throws IOException {
    reference = TestSupport.encoderReferenceFolder();
    bert = Model.open(reference.resolve("models/bert").toString());
    Path data = reference.resolve("bert");
    batch = Batch.builder(ROWS, SEQ).inputIds(readInts(data.resolve("input_ids.i32")))
        .attentionMask(readInts(data.resolve("attention_mask.i32")))
        .tokenTypeIds(readInts(data.resolve("token_type_ids.i32"))).rowLabels(readInts(data.resolve("seq_labels.i32")))
        .build();
    adapter = Adapter.create(bert, seqClsOptions());
  }

  @AfterClass
  public static void closeBert() {
    adapter.close();
    bert.close();
  }

  /** The reference's ptuning_mlp case as a SEQ_CLS adapter. */
  private static AdapterOptions seqClsOptions() {
    return new AdapterOptions().method(Method.P_TUNING).encoderType(EncoderType.MLP).numVirtualTokens(NUM_VIRTUAL_TOKENS)
        .encoderHiddenSize(ENCODER_HIDDEN_SIZE).seed(SEED).taskType(TaskType.SEQ_CLS).numLabels(NUM_LABELS);
  }

  @Test
  public void bertInfoHasTokenTypesAndNoLanguageModellingHead() {
    ModelInfo info = bert.info();
    assertEquals("bert", info.modelType());
    assertEquals(2, info.typeVocabSize());
    assertFalse(info.hasLmHead());
    assertEquals(32, info.hiddenSize());
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> bert.logits(batch, LogitsMode.LAST));
    assertEquals(Status.UNSUPPORTED, e.status());
  }

  @Test
  public void adapterInfoReportsTheTask() {
    AdapterInfo info = adapter.info();
    assertEquals(TaskType.SEQ_CLS, info.taskType());
    assertEquals(NUM_LABELS, info.numLabels());
    assertEquals(32, info.hiddenSize());
    assertTrue(adapter.parameterNames().contains("base_model.classifier.weight"));
  }

  /** taskType, numLabels and the seed reach the library: the head starts as transformers draws it. */
  @Test
  public void headStartsAsPeftsForTheSameSeed() throws IOException {
    Path folder = reference.resolve("bert/ptuning_mlp_seq_cls");
    assertArrayEquals(TestSupport.readFloats(folder.resolve("init__base_model.classifier.weight.f32")),
        adapter.parameter("base_model.classifier.weight"), 0f);
  }

  @Test
  public void classScoresArePeftsAndProbabilitiesSumToOne() throws IOException {
    float[] logits = adapter.classify(batch, ClassOutput.LOGITS);
    assertEquals(ROWS * NUM_LABELS, logits.length);
    // The same call again gives the same bits (the library's values, nothing added on the way).
    assertArrayEquals(logits, adapter.classify(batch, ClassOutput.LOGITS), 0f);

    float[] expected = TestSupport.readFloats(reference.resolve("bert/ptuning_mlp_seq_cls/logits.f32"));
    ModelInfo info = bert.info();
    // tests/c/tolerance_rule.h with the encoder forward over n + S keys, P-tuning's MLP in front
    // (hidden + 2 * encoder width) and the SEQ_CLS pooler's product (+ hidden), as
    // test_encoder_conformance.c states it.
    double length = forwardLength(info, NUM_VIRTUAL_TOKENS + SEQ, info.hiddenSize() + 2.0 * ENCODER_HIDDEN_SIZE)
        + info.hiddenSize();
    assertWithinToleranceRule("class logits", expected, logits, length);

    float[] probabilities = adapter.classify(batch, ClassOutput.PROBABILITIES);
    assertEquals(ROWS * NUM_LABELS, probabilities.length);
    for (int row = 0; row < ROWS; ++row) {
      double sum = 0;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < NUM_LABELS; ++c) {
        sum += probabilities[row * NUM_LABELS + c];
        max = Math.max(max, logits[row * NUM_LABELS + c]);
      }
      assertEquals("row " + row + " sums to 1", 1.0, sum, 1e-6);
      double norm = 0;
      for (int c = 0; c < NUM_LABELS; ++c) {
        norm += Math.exp(logits[row * NUM_LABELS + c] - max);
      }
      for (int c = 0; c < NUM_LABELS; ++c) {
        assertEquals("softmax of the logits", Math.exp(logits[row * NUM_LABELS + c] - max) / norm,
            probabilities[row * NUM_LABELS + c], 1e-6);
      }
    }
  }

  /** The token type ids travel with the batch: without them (all 0) the scores change. */
  @Test
  public void tokenTypeIdsChangeTheScores() {
    Batch withoutTypes = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).attentionMask(batch.attentionMask())
        .build();
    float[] with = adapter.classify(batch, ClassOutput.LOGITS);
    float[] without = adapter.classify(withoutTypes, ClassOutput.LOGITS);
    double largest = 0;
    for (int i = 0; i < with.length; ++i) {
      largest = Math.max(largest, Math.abs(with[i] - without[i]));
    }
    assertTrue("token types made no difference", largest > 1e-3);
  }

  @Test
  public void lossOnRowLabelsIsPefts() throws IOException {
    Evaluation evaluation = adapter.evalLoss(batch);
    assertEquals(ROWS, evaluation.rowLogLikelihoods().length);
    float[] expected = TestSupport.readFloats(reference.resolve("bert/ptuning_mlp_seq_cls/loss.f32"));
    ModelInfo info = bert.info();
    double forward = forwardLength(info, NUM_VIRTUAL_TOKENS + SEQ, info.hiddenSize() + 2.0 * ENCODER_HIDDEN_SIZE)
        + info.hiddenSize();
    // The log-sum-exp over the classes, then the mean over the rows.
    assertWithinToleranceRule("loss", expected, new float[] {evaluation.meanLoss()}, forward + NUM_LABELS + ROWS);
  }

  @Test
  public void hiddenStatesHaveOneVectorPerToken() throws IOException {
    float[] hidden = adapter.hiddenStates(batch);
    assertEquals((long) ROWS * SEQ * adapter.info().hiddenSize(), hidden.length);

    float[] base = bert.hiddenStates(batch);
    assertEquals((long) ROWS * SEQ * bert.info().hiddenSize(), base.length);
    float[] expected = TestSupport.readFloats(reference.resolve("bert/base_hidden.f32"));
    assertWithinToleranceRule("base hidden states", expected, base, forwardLength(bert.info(), SEQ, 0));
  }

  @Test
  public void trainingOnRowLabelsLowersTheLoss() {
    try (Adapter trained = Adapter.create(bert, seqClsOptions());
        Trainer trainer = Trainer.create(trained, new TrainerOptions().learningRate(1e-2))) {
      float before = trained.evalLoss(batch).meanLoss();
      TrainResult last = null;
      for (int step = 0; step < 8; ++step) {
        last = trainer.step(batch);
        assertTrue(last.updated());
      }
      float after = trained.evalLoss(batch).meanLoss();
      assertTrue("loss " + before + " -> " + after, after < before - 0.05);
      assertEquals(8, last.updatesDone());
    }
  }

  @Test
  public void errorsMapToTheirStatuses() {
    // Logits need a CAUSAL_LM adapter on a decoder.
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> adapter.logits(batch, LogitsMode.ALL));
    assertEquals(Status.UNSUPPORTED, e.status());
    assertTrue(e.getMessage(), e.nativeMessage().contains("logits"));

    // A row label outside [0, numLabels).
    Batch badLabel = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).attentionMask(batch.attentionMask())
        .tokenTypeIds(batch.tokenTypeIds()).rowLabels(0, NUM_LABELS, 1).build();
    assertEquals(Status.OUT_OF_RANGE, assertThrows(SoftPromptException.class, () -> adapter.evalLoss(badLabel)).status());
    try (Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      assertEquals(Status.OUT_OF_RANGE, assertThrows(SoftPromptException.class, () -> trainer.step(badLabel)).status());
    }

    // Row labels are one per row; a token type outside the model's type vocabulary.
    Batch shortLabels = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).rowLabels(0, 1).build();
    assertEquals(Status.SHAPE_MISMATCH,
        assertThrows(SoftPromptException.class, () -> adapter.evalLoss(shortLabels)).status());
    int[] types = batch.tokenTypeIds();
    types[0] = 2;
    Batch badType = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).tokenTypeIds(types).build();
    assertEquals(Status.OUT_OF_RANGE,
        assertThrows(SoftPromptException.class, () -> adapter.classify(badType, ClassOutput.LOGITS)).status());

    // Class scores are a SEQ_CLS or TOKEN_CLS adapter's.
    try (Adapter features = Adapter.create(bert, new AdapterOptions().numVirtualTokens(NUM_VIRTUAL_TOKENS).seed(SEED)
        .taskType(TaskType.FEATURE_EXTRACTION))) {
      assertEquals(0, features.info().numLabels());
      assertEquals(Status.UNSUPPORTED,
          assertThrows(SoftPromptException.class, () -> features.classify(batch, ClassOutput.PROBABILITIES)).status());
      assertEquals((long) ROWS * SEQ * 32, features.hiddenStates(batch).length);
    }
  }

  /** tests/c/tolerance_rule.h's tolerance_rule_forward_length for this model's sizes. */
  private static double forwardLength(ModelInfo info, int keys, double encoderLength) {
    return TestSupport.forwardLength(info.numLayers(), info.hiddenSize(), info.numAttentionHeads(), info.headDim(),
        INTERMEDIATE_SIZE, keys, encoderLength);
  }

  private static void assertWithinToleranceRule(String what, float[] expected, float[] actual, double length) {
    TestSupport.assertWithinToleranceRule(what, expected, actual, length);
  }

  private static int[] readInts(Path file) throws IOException {
    return TestSupport.readInts(file);
  }
}
