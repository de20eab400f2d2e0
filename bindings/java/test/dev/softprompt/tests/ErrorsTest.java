package dev.softprompt.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Every failure of a C call arrives as a SoftPromptException with the C status and the library's
 * own message, and leaves the objects involved usable.
 */
public class ErrorsTest extends SharedModelTest {
  private static Adapter adapter;

  @BeforeClass
  public static void createAdapter() {
    adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(3));
  }

  @AfterClass
  public static void closeAdapter() {
    adapter.close();
  }

  @Test
  public void missingModelFolderIsNotFound() throws Exception {
    String missing = TestSupport.scratch("errors").resolve("no_such_model").toString();
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> Model.open(missing));
    expect(e, Status.NOT_FOUND, missing);
    assertTrue(e.getMessage(), e.getMessage().startsWith("SP_ERR_NOT_FOUND: "));
  }

  @Test
  public void tokenOutsideTheVocabularyIsOutOfRange() {
    Batch batch = Batch.of(1, 3, 5, 999, 7);
    expect(assertThrows(SoftPromptException.class, () -> adapter.logits(batch, LogitsMode.LAST)),
        Status.OUT_OF_RANGE, "999");
    expect(assertThrows(SoftPromptException.class, () -> model.evalLoss(batch)), Status.OUT_OF_RANGE, "999");
  }

  /** The batch arrays cross with their lengths, so a short one is reported, not read past. */
  @Test
  public void arrayOfTheWrongLengthIsShapeMismatch() {
    Batch shortIds = Batch.of(2, 6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> adapter.logits(shortIds, LogitsMode.LAST));
    expect(e, Status.SHAPE_MISMATCH, "input_ids has 11 values");
    Batch shortMask = Batch.builder(1, 4).inputIds(1, 2, 3, 4).attentionMask(1, 1, 1).build();
    expect(assertThrows(SoftPromptException.class, () -> adapter.evalLoss(shortMask)), Status.SHAPE_MISMATCH,
        "attention_mask has 3 values");
  }

  /**
   * The binding checks no batch sizes of its own: the library's status and message (which names
   * its field, batch_size or seq_len) reach the caller, whichever call sees them first.
   */
  @Test
  public void batchWithoutRowsOrTokensIsInvalidArgumentFromTheLibrary() {
    Batch noRows = Batch.of(0, 3);
    expect(assertThrows(SoftPromptException.class, () -> adapter.logits(noRows, LogitsMode.LAST)),
        Status.INVALID_ARGUMENT, "batch_size");
    expect(assertThrows(SoftPromptException.class, () -> model.logits(noRows, LogitsMode.ALL)),
        Status.INVALID_ARGUMENT, "batch_size");
    expect(assertThrows(SoftPromptException.class, () -> adapter.evalLoss(noRows)), Status.INVALID_ARGUMENT,
        "batch_size");
    expect(assertThrows(SoftPromptException.class, () -> model.evalLoss(noRows)), Status.INVALID_ARGUMENT,
        "batch_size");
    expect(assertThrows(SoftPromptException.class, () -> adapter.logits(Batch.of(2, -1), LogitsMode.ALL)),
        Status.INVALID_ARGUMENT, "seq_len");
    try (Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      expect(assertThrows(SoftPromptException.class, () -> trainer.step(noRows)), Status.INVALID_ARGUMENT,
          "batch_size");
    }
  }

  /**
   * 5 ids for 100000 x 100000 tokens: the library reports the shape. The binding sizes no buffer for
   * such a batch (its 2.56e12 logits would not even fit in a Java array).
   */
  @Test
  public void wrongLengthIdsAreShapeMismatchWithoutABufferForThem() {
    expect(assertThrows(SoftPromptException.class, () -> adapter.logits(Batch.of(100000, 100000, 1, 2, 3, 4, 5),
        LogitsMode.ALL)), Status.SHAPE_MISMATCH, "input_ids has 5 values");
  }

  @Test
  public void bufferTooSmallIsReported() {
    float[] tooSmall = new float[255];
    expect(assertThrows(SoftPromptException.class, () -> adapter.logits(Batch.of(1, 2, 1, 2), LogitsMode.LAST,
        tooSmall)), Status.BUFFER_TOO_SMALL, "");
  }

  @Test
  public void invalidOptionsAreInvalidArgument() {
    expect(assertThrows(SoftPromptException.class, () -> Adapter.create(model, new AdapterOptions().numVirtualTokens(0))),
        Status.INVALID_ARGUMENT, "num_virtual_tokens");
    expect(assertThrows(SoftPromptException.class,
        () -> Adapter.create(model, new AdapterOptions().initTokenIds(1, 2, 300).init(dev.softprompt.PromptInit.TEXT))),
        Status.OUT_OF_RANGE, "300");
  }

  @Test
  public void multitaskAdapterWithoutTaskIdsIsInvalidArgument() {
    try (Adapter mpt = Adapter.create(model, new AdapterOptions().method(Method.MULTITASK_PROMPT_TUNING).numTasks(2))) {
      expect(assertThrows(SoftPromptException.class, () -> mpt.logits(Batch.of(1, 3, 1, 2, 3), LogitsMode.LAST)),
          Status.INVALID_ARGUMENT, "task");
    }
  }

  @Test
  public void unknownParameterIsNotFound() {
    expect(assertThrows(SoftPromptException.class, () -> adapter.parameter("no.such.tensor")), Status.NOT_FOUND,
        "no.such.tensor");
  }

  @Test
  public void gradientBeforeTheFirstUpdateIsNotFound() {
    try (Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      assertThrows(SoftPromptException.class, () -> trainer.gradient("embedding.weight"));
      trainer.step(TestSupport.taskBatch());
      assertEquals(4 * 64, trainer.gradient("embedding.weight").length);
      expect(assertThrows(SoftPromptException.class, () -> trainer.gradient("no.such.tensor")), Status.NOT_FOUND,
          "no.such.tensor");
    }
  }

  @Test
  public void badAdapterFilesAreReported() throws Exception {
    Path scratch = TestSupport.scratch("errors_files");
    Path garbage = Files.write(scratch.resolve("garbage.spadapter"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    expect(assertThrows(SoftPromptException.class, () -> Adapter.loadFile(model, garbage.toString())), Status.FORMAT,
        "");
    String missing = scratch.resolve("missing_folder").toString();
    expect(assertThrows(SoftPromptException.class, () -> Adapter.load(model, missing)), Status.NOT_FOUND, "");
  }

  /** A failed call changes nothing: the adapter gives the same logits before and after. */
  @Test
  public void objectsStayUsableAfterAFailure() {
    Batch good = Batch.of(1, 3, 5, 6, 7);
    float[] before = adapter.logits(good, LogitsMode.LAST);
    assertThrows(SoftPromptException.class, () -> adapter.logits(Batch.of(1, 3, 5, 999, 7), LogitsMode.LAST));
    ReferenceTest.assertBitsEqual(before, adapter.logits(good, LogitsMode.LAST));
  }

  /** Null where C needs a value: rejected in Java before any native call. */
  @Test
  public void nullArgumentsAreRejected() {
    assertThrows(NullPointerException.class, () -> adapter.logits(null, LogitsMode.LAST));
    assertThrows(NullPointerException.class, () -> adapter.logits(Batch.of(1, 1, 1), null));
    assertThrows(NullPointerException.class, () -> Batch.builder(1, 1).build());
  }

  private static void expect(SoftPromptException e, Status status, String fragment) {
    assertEquals(e.getMessage(), status, e.status());
    assertTrue("message \"" + e.nativeMessage() + "\" does not mention \"" + fragment + "\"",
        e.nativeMessage().contains(fragment));
    assertTrue("empty message", !e.nativeMessage().isEmpty());
  }
}
