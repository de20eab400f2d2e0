package dev.softprompt.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.assertThrows;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Model;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.Test;

/**
 * Paths cross as real UTF-8 and messages come back decoded from UTF-8, also for characters outside
 * the BMP (which JNI's "modified UTF-8" would turn into surrogate pairs, i.e. another file name).
 */
public class Utf8PathTest {
  private static final String NAME = "x_\u00fc_\uD83D\uDE00"; // x_ü_😀

  @Test
  public void nonBmpNamesRoundTripThroughSaveAndLoad() throws Exception {
    Path scratch = TestSupport.scratch("utf8");
    String folder = scratch.resolve(NAME).toString();
    String file = scratch.resolve(NAME + ".spadapter").toString();
    Batch batch = Batch.of(1, 4, 5, 6, 7, 8);
    try (Model model = TestSupport.openModel();
        Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(9))) {
      float[] logits = adapter.logits(batch, LogitsMode.ALL);
      adapter.save(folder);
      adapter.saveFile(file);
      try (Adapter fromFolder = Adapter.load(model, folder); Adapter fromFile = Adapter.loadFile(model, file)) {
        ReferenceTest.assertBitsEqual(logits, fromFolder.logits(batch, LogitsMode.ALL));
        ReferenceTest.assertBitsEqual(logits, fromFile.logits(batch, LogitsMode.ALL));
      }
    }
    // On disk the names are exactly the UTF-8 of NAME. java.io decodes names with the locale's
    // charset, so this check needs a UTF-8 locale (ctest sets LC_ALL=C.UTF-8).
    assertEquals("this check needs a UTF-8 locale (LC_ALL=C.UTF-8)", "UTF-8",
        System.getProperty("sun.jnu.encoding"));
    String[] names = new File(scratch.toString()).list();
    Arrays.sort(names);
    assertEquals(Arrays.asList(NAME, NAME + ".spadapter"), Arrays.asList(names));
  }

  /** A message naming a non-BMP path comes back with that path intact. */
  @Test
  public void messagesComeBackAsUtf8() throws Exception {
    String missing = TestSupport.scratch("utf8_missing").resolve(NAME).toString();
    try (Model model = TestSupport.openModel()) {
      SoftPromptException e = assertThrows(SoftPromptException.class, () -> Adapter.load(model, missing));
      assertEquals(Status.NOT_FOUND, e.status());
      assertTrue(e.nativeMessage(), e.nativeMessage().contains(missing));
    }
  }
}
