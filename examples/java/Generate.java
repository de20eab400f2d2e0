/*
 * Generate: stream a generation through the Java binding.
 *
 *   java -cp build/bindings/java/softprompt.jar examples/java/Generate.java \
 *       <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER]
 *
 * Loads a model folder that has a tokenizer.json, optionally a PEFT adapter folder on it, creates a
 * context and prints the greedy continuation of the prompt (default "Once upon a time") piece by
 * piece as the tokens come, then a summary line on stderr. Exits 1 on a library error.
 */
package dev.softprompt.examples;

import dev.softprompt.Adapter;
import dev.softprompt.Context;
import dev.softprompt.ContextOptions;
import dev.softprompt.GenerateOptions;
import dev.softprompt.Model;
import dev.softprompt.SoftPromptException;
import dev.softprompt.TokenEvent;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

public final class Generate {
  private Generate() {}

  public static void main(String[] args) {
    List<String> positional = new ArrayList<>();
    String adapterFolder = null;
    for (int i = 0; i < args.length; ++i) {
      if (args[i].equals("--adapter") && i + 1 < args.length) {
        adapterFolder = args[++i];
      } else {
        positional.add(args[i]);
      }
    }
    if (positional.isEmpty() || positional.size() > 3) {
      System.err.println("usage: Generate <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER]");
      System.exit(2);
    }
    String prompt = positional.size() > 1 ? positional.get(1) : "Once upon a time";
    int maxNewTokens = positional.size() > 2 ? Integer.parseInt(positional.get(2)) : 32;
    // The pieces are UTF-8 text whatever the platform's default encoding.
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    try (Model model = Model.open(positional.get(0));
         Adapter adapter = adapterFolder == null ? null : Adapter.load(model, adapterFolder);
         Context context = Context.create(model, adapter, new ContextOptions().maxLength(512))) {
      GenerateOptions options = new GenerateOptions().maxNewTokens(maxNewTokens);
      out.print(prompt);
      int[] tokens = {0};
      TokenEvent[] last = {null};
      // Closing the stream (here at the end of the try) would stop a generation left unfinished.
      try (Stream<TokenEvent> events = context.stream(prompt, options)) {
        events.forEach(event -> {
          out.print(event.text()); // whole characters only: bytes of a split one come with a later token
          ++tokens[0];
          last[0] = event;
        });
      }
      out.println();
      System.err.println(tokens[0] + " tokens, stopped by " + (last[0] == null ? "nothing" : last[0].stopReason()));
    } catch (SoftPromptException e) {
      System.err.println("Generate: " + e.getMessage());
      System.exit(1);
    }
  }
}
