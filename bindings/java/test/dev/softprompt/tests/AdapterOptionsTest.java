package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Method;
import dev.softprompt.PromptInit;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.Test;

/** The array and string fields of AdapterOptions reach the library (they travel beside the struct). */
public class AdapterOptionsTest extends SharedModelTest {
  private static final int HIDDEN = 64;

  /** TEXT init takes the embeddings of initTokenIds, in order, repeated to fill the tokens. */
  @Test
  public void textInitUsesTheTokenIdsInOrder() {
    float[] a = textTable(5, 6, 7, 8);
    float[] b = textTable(5, 6, 7, 9);
    assertArrayEquals(row(a, 0, 3), row(b, 0, 3), 0f);
    assertFalse(Arrays.equals(row(a, 3, 4), row(b, 3, 4)));
    float[] repeated = textTable(5, 6); // cut or repeated to the 4 virtual tokens: 5 6 5 6
    assertArrayEquals(row(a, 0, 2), row(repeated, 0, 2), 0f);
    assertArrayEquals(row(repeated, 0, 2), row(repeated, 2, 4), 0f);
  }

  /** initText and tokenizerNameOrPath end up in adapter_config.json (escaped there as JSON \\u). */
  @Test
  public void initTextAndTokenizerAreRecorded() throws Exception {
    String text = "Gr\u00fc\u00dfe \uD83D\uDE00";
    String tokenizer = "tokenizers/\u00fc";
    Path folder = TestSupport.scratch("options_text").resolve("adapter");
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).init(PromptInit.TEXT)
        .initTokenIds(5, 6).initText(text).tokenizerNameOrPath(tokenizer))) {
      adapter.save(folder.toString());
    }
    String config = new String(Files.readAllBytes(folder.resolve("adapter_config.json")), StandardCharsets.UTF_8);
    assertTrue(config, config.contains("\"prompt_tuning_init_text\": \"" + jsonEscaped(text) + "\""));
    assertTrue(config, config.contains("\"tokenizer_name_or_path\": \"" + jsonEscaped(tokenizer) + "\""));
  }

  /**
   * Multitask prompt tuning from a source adapter: sourceAdapter and sourceTask reach the library
   * (the new adapter starts from the source's shared table and from task 1's factors).
   */
  @Test
  public void multitaskSourceAdapterAndTask() throws Exception {
    Path source = TestSupport.scratch("options_mpt").resolve("source");
    float[] sourceTable;
    float[] sourceCols;
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().method(Method.MULTITASK_PROMPT_TUNING)
        .numVirtualTokens(4).numTasks(2).seed(2));
        Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      trainer.step(TestSupport.taskBatch());
      adapter.save(source.toString());
      sourceTable = adapter.parameter("embedding.weight");
      sourceCols = adapter.parameter("prefix_task_cols");
    }
    AdapterOptions fromSource = new AdapterOptions().method(Method.MULTITASK_PROMPT_TUNING).numVirtualTokens(4)
        .init(PromptInit.EXACT_SOURCE_TASK).sourceAdapter(source.toString()).sourceTask(1);
    try (Adapter adapter = Adapter.create(model, fromSource)) {
      assertArrayEquals(sourceTable, adapter.parameter("embedding.weight"), 0f);
      float[] cols = adapter.parameter("prefix_task_cols"); // (tasks, tokens, ranks): task 1 is the second half
      assertArrayEquals(Arrays.copyOfRange(sourceCols, cols.length, 2 * cols.length), cols, 0f);
    }
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> Adapter.create(model, fromSource.sourceTask(5)));
    assertEquals(e.getMessage(), Status.OUT_OF_RANGE, e.status());
    String missing = source.resolveSibling("missing").toString();
    e = assertThrows(SoftPromptException.class, () -> Adapter.create(model, fromSource.sourceTask(0).sourceAdapter(missing)));
    assertEquals(e.getMessage(), Status.NOT_FOUND, e.status());
    assertTrue(e.nativeMessage(), e.nativeMessage().contains(missing));
  }

  private static float[] textTable(int... ids) {
    try (Adapter adapter = Adapter.create(model,
        new AdapterOptions().numVirtualTokens(4).init(PromptInit.TEXT).initTokenIds(ids))) {
      return adapter.parameter("embedding.weight");
    }
  }

  private static float[] row(float[] table, int from, int to) {
    return Arrays.copyOfRange(table, from * HIDDEN, to * HIDDEN);
  }

  /** s as a JSON string body with every non-ASCII UTF-16 unit as a lowercase \\uXXXX escape. */
  private static String jsonEscaped(String s) {
    StringBuilder out = new StringBuilder();
    for (char c : s.toCharArray()) {
      out.append(c < 0x80 ? String.valueOf(c) : String.format("\\u%04x", (int) c));
    }
    return out.toString();
  }
}
