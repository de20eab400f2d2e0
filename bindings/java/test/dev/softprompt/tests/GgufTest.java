package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assume.assumeTrue;

import dev.softprompt.ChatMessage;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import org.junit.Test;

/**
 * A GGUF file opens like a folder: SmolLM2-135M-Instruct's Q4_1 file (the gguf_models fixture links
 * it), its tokenizer from the file's metadata and its chat template. The expected ids and text are
 * transformers' (AutoTokenizer.from_pretrained(..., gguf_file=...) and apply_chat_template).
 */
public class GgufTest {
  @Test
  public void smollm2GgufOpensWithItsTokenizerAndChatTemplate() {
    String folder = System.getProperty("softprompt.test.gguf", "");
    Path path = Paths.get(folder, "smollm2.gguf");
    assumeTrue("the gguf_models fixture's smollm2.gguf", !folder.isEmpty() && Files.exists(path));
    try (Model model = Model.open(path.toString()); Tokenizer tokenizer = model.tokenizer()) {
      ModelInfo info = model.info();
      assertEquals("llama", info.modelType());
      assertEquals(30, info.numLayers());
      assertEquals(576, info.hiddenSize());
      assertEquals(49152, info.vocabSize());
      assertArrayEquals(new int[] {504, 3575, 282, 4649, 314}, tokenizer.encode("The capital of France is", true));
      assertEquals(
          "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
              + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
          tokenizer.applyChatTemplate(Collections.singletonList(new ChatMessage("user", "Hi")), true));
    }
  }
}
