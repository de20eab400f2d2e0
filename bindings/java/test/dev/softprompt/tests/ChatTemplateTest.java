package dev.softprompt.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.ChatMessage;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collections;
import org.junit.Test;

/**
 * Tokenizer.applyChatTemplate with SmolLM2's ChatML template (the expected texts are ChatML's
 * format written out), and Adapter.describe on a folder, a file and bad paths.
 */
public class ChatTemplateTest extends SharedModelTest {
  /** SmolLM2-Instruct's chat_template, as its tokenizer_config.json holds it. */
  static final String SMOLLM2_TEMPLATE = "{% for message in messages %}{% if loop.first and messages[0]['role'] != "
      + "'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
      + "Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
      + "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  static final String DEFAULT_SYSTEM =
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";

  /** A tokenizer folder: the byte-level tokenizer.json beside a tokenizer_config.json of `config`. */
  private static Path tokenizerFolder(String name, String config) throws Exception {
    Path folder = TestSupport.scratch(name);
    Files.copy(Paths.get(TestSupport.generationModelFolder(), "tokenizer.json"), folder.resolve("tokenizer.json"));
    if (config != null) {
      Files.write(folder.resolve("tokenizer_config.json"), config.getBytes(StandardCharsets.UTF_8));
    }
    return folder;
  }

  private static String jsonString(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  @Test
  public void chatMlConversations() throws Exception {
    Path folder = tokenizerFolder("chat_smollm2", "{\"chat_template\": " + jsonString(SMOLLM2_TEMPLATE) + "}");
    try (Tokenizer tokenizer = Tokenizer.load(folder.toString())) {
      String withDefault =
          tokenizer.applyChatTemplate(Collections.singletonList(new ChatMessage("user", "Héllo, 世界 🙂")), true);
      assertEquals(
          DEFAULT_SYSTEM + "<|im_start|>user\nHéllo, 世界 🙂<|im_end|>\n<|im_start|>assistant\n", withDefault);
      String conversation = tokenizer.applyChatTemplate(
          Arrays.asList(new ChatMessage("system", "Be brief."), new ChatMessage("user", "2+2?"),
              new ChatMessage("assistant", "4"), new ChatMessage("user", "")),
          false);
      assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
              + "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n<|im_end|>\n",
          conversation);
      // Longer than the first buffer the binding offers.
      StringBuilder longText = new StringBuilder();
      for (int i = 0; i < 3000; ++i) {
        longText.append("é");
      }
      String rendered =
          tokenizer.applyChatTemplate(Collections.singletonList(new ChatMessage("system", longText.toString())), false);
      assertEquals("<|im_start|>system\n" + longText + "<|im_end|>\n", rendered);
    }
  }

  @Test
  public void missingAndForeignTemplatesAreRefused() throws Exception {
    try (Tokenizer none = Tokenizer.load(tokenizerFolder("chat_none", null).toString())) {
      SoftPromptException e = assertThrows(SoftPromptException.class,
          () -> none.applyChatTemplate(Collections.singletonList(new ChatMessage("user", "hi")), true));
      assertEquals(e.getMessage(), Status.NOT_FOUND, e.status());
    }
    String llama2 = "{\"chat_template\": \"{{ bos_token }}{% for message in messages %}[INST] {{ message['content'] }} "
        + "[/INST]{% endfor %}\"}";
    try (Tokenizer foreign = Tokenizer.load(tokenizerFolder("chat_foreign", llama2).toString())) {
      SoftPromptException e = assertThrows(SoftPromptException.class,
          () -> foreign.applyChatTemplate(Collections.singletonList(new ChatMessage("user", "hi")), true));
      assertEquals(e.getMessage(), Status.UNSUPPORTED, e.status());
    }
  }

  @Test
  public void describeReadsFoldersAndFiles() throws Exception {
    Path scratch = TestSupport.scratch("describe");
    try (Adapter adapter = Adapter.create(model, TestSupport.MethodCase.PROMPT_TUNING.options())) {
      adapter.save(scratch.resolve("folder").toString());
      adapter.saveFile(scratch.resolve("adapter.spadapter").toString());
    }
    String folder = Adapter.describe(scratch.resolve("folder").toString());
    assertTrue(folder, folder.contains("\"format\":\"peft-folder\""));
    assertTrue(folder, folder.contains("\"name\":\"prompt_embeddings\",\"shape\":[8,64]"));
    assertTrue(folder, folder.contains("\"parameter_count\":512"));
    String file = Adapter.describe(scratch.resolve("adapter.spadapter").toString());
    assertTrue(file, file.contains("\"format\":\"single-file\""));
    assertTrue(file, file.contains("\"method\":\"PROMPT_TUNING\""));
    assertTrue(file, file.contains("\"model_type\":\"llama\""));
    SoftPromptException e =
        assertThrows(SoftPromptException.class, () -> Adapter.describe(scratch.resolve("missing").toString()));
    assertEquals(e.getMessage(), Status.NOT_FOUND, e.status());
    Files.write(scratch.resolve("text.txt"), "not an adapter".getBytes(StandardCharsets.UTF_8));
    e = assertThrows(SoftPromptException.class, () -> Adapter.describe(scratch.resolve("text.txt").toString()));
    assertEquals(e.getMessage(), Status.FORMAT, e.status());
  }
}
