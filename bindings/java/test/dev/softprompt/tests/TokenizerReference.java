package dev.softprompt.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code tokenizers} gave for the binding tests' texts: the records of
 * tests/reference/tokenizer_binding_reference.py's expected.tsv (ctest fixture
 * "tokenizer_binding_reference"; -Dsoftprompt.test.tokenizers names the file).
 */
final class TokenizerReference {
  /** One tokenizer.json of the conformance fixture and what tokenizers gives with it. */
  static final class Family {
    final String name;
    final String path; // the folder with tokenizer.json (and the files with its special tokens)
    final long vocabSize;
    final int bos;
    final int eos;
    final int pad;
    final int unk;
    final List<Text> texts = new ArrayList<>();
    final Map<Integer, String> tokens = new LinkedHashMap<>(); // id -> id_to_token(id)
    final Map<Integer, Integer> tokenIds = new LinkedHashMap<>(); // id -> token_to_id(id_to_token(id)), -1: none

    Family(String[] f) {
      name = f[1];
      path = f[2];
      vocabSize = Long.parseLong(f[3]);
      bos = Integer.parseInt(f[4]);
      eos = Integer.parseInt(f[5]);
      pad = Integer.parseInt(f[6]);
      unk = Integer.parseInt(f[7]);
    }

    /** The record of text (which the fixture must have). */
    Text text(String text) {
      for (Text t : texts) {
        if (t.text.equals(text)) {
          return t;
        }
      }
      throw new AssertionError("expected.tsv has no record of " + name + " for \"" + text + "\"");
    }
  }

  /** One text: the ids of encode with and without special tokens, and the two decodes. */
  static final class Text {
    final String text;
    final int[] withSpecial;
    final int[] withoutSpecial;
    final String decoded; // decode(withSpecial, skip_special_tokens=False)
    final String decodedSkipping; // decode(withSpecial, skip_special_tokens=True)

    Text(String[] f) {
      text = unhex(f[2]);
      withSpecial = ids(f[3]);
      withoutSpecial = ids(f[4]);
      decoded = unhex(f[5]);
      decodedSkipping = unhex(f[6]);
    }
  }

  final Map<String, Family> families = new LinkedHashMap<>();
  String modelWithTokenizer; // the tiny llama model folder with the gpt2 tokenizer.json
  String modelTokenizer; // "gpt2"

  private static TokenizerReference loaded;

  static synchronized TokenizerReference get() throws IOException {
    if (loaded == null) {
      loaded = read(System.getProperty("softprompt.test.tokenizers"));
    }
    return loaded;
  }

  Family family(String name) {
    Family family = families.get(name);
    if (family == null) {
      throw new AssertionError("expected.tsv has no tokenizer " + name);
    }
    return family;
  }

  private static TokenizerReference read(String file) throws IOException {
    if (file == null || file.isEmpty()) {
      throw new IllegalStateException("the test command must set -Dsoftprompt.test.tokenizers (ctest java_tests does)");
    }
    TokenizerReference reference = new TokenizerReference();
    for (String line : Files.readAllLines(Paths.get(file), StandardCharsets.UTF_8)) {
      String[] f = line.split("\t", -1);
      switch (f[0]) {
        case "tokenizer":
          reference.families.put(f[1], new Family(f));
          break;
        case "text":
          reference.family(f[1]).texts.add(new Text(f));
          break;
        case "token":
          reference.family(f[1]).tokens.put(Integer.parseInt(f[2]), unhex(f[3]));
          reference.family(f[1]).tokenIds.put(Integer.parseInt(f[2]), Integer.parseInt(f[4]));
          break;
        case "model":
          reference.modelWithTokenizer = f[1];
          reference.modelTokenizer = f[2];
          break;
        default:
          throw new AssertionError("unknown record in " + file + ": " + f[0]);
      }
    }
    return reference;
  }

  private static int[] ids(String list) {
    if (list.isEmpty()) {
      return new int[0];
    }
    String[] parts = list.split(",");
    int[] ids = new int[parts.length];
    for (int i = 0; i < parts.length; ++i) {
      ids[i] = Integer.parseInt(parts[i]);
    }
    return ids;
  }

  private static String unhex(String hex) {
    byte[] bytes = new byte[hex.length() / 2];
    for (int i = 0; i < bytes.length; ++i) {
      bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
