package dev.softprompt.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the JNI library (libsoftprompt_java.so) once, before the first native call: the generated
 * SoftPromptNativeJNI class calls {@link #load()} from its static initialiser.
 *
 * <p>Two places are tried, in order:
 * <ol>
 *   <li>{@code java.library.path} ({@code -Djava.library.path=...}): the JNI library there finds
 *       libsoftprompt.so through its RUNPATH or {@code LD_LIBRARY_PATH}.</li>
 *   <li>The jar: softprompt.jar carries the JNI library and libsoftprompt.so under
 *       {@code dev/softprompt/native/<os>-<arch>/}, listed in load order in {@code libraries.txt}.
 *       They are copied to a temporary folder and loaded from there by absolute path.
 *       libsoftprompt.so is loaded first, so the JNI library's dependency on it is already met
 *       (the dynamic linker matches it by soname). LibTorch is not in the jar: libsoftprompt.so
 *       finds it through its own RUNPATH (the LibTorch it was built against) or
 *       {@code LD_LIBRARY_PATH}.</li>
 * </ol>
 */
final class NativeLoader {
  private static final String JNI_LIBRARY = "softprompt_java";

  private NativeLoader() {}

  static synchronized void load() {
    try {
      System.loadLibrary(JNI_LIBRARY);
    } catch (UnsatisfiedLinkError fromLibraryPath) {
      loadFromJar(fromLibraryPath);
    }
  }

  /** "linux-x86_64", "linux-aarch64", ...: the folder of this platform's libraries in the jar. */
  static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (os.startsWith("linux")) {
      os = "linux";
    } else if (os.startsWith("mac")) {
      os = "macos";
    } else if (os.startsWith("windows")) {
      os = "windows";
    }
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64") || arch.equals("x86_64")) {
      arch = "x86_64";
    } else if (arch.equals("arm64") || arch.equals("aarch64")) {
      arch = "aarch64";
    }
    return os + "-" + arch;
  }

  private static void loadFromJar(UnsatisfiedLinkError fromLibraryPath) {
    String folder = "/dev/softprompt/native/" + platform() + "/";
    List<String> libraries = listed(folder + "libraries.txt");
    if (libraries.isEmpty()) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError("softprompt: cannot load the JNI library "
          + System.mapLibraryName(JNI_LIBRARY) + ": it is not loadable from java.library.path ("
          + fromLibraryPath.getMessage() + ") and the classpath holds no native libraries for " + platform()
          + " (expected in softprompt.jar under " + folder.substring(1) + ")");
      error.initCause(fromLibraryPath);
      throw error;
    }
    try {
      Path directory = Files.createTempDirectory("softprompt-native-");
      directory.toFile().deleteOnExit(); // registered first, so deleted after the files in it
      for (String library : libraries) {
        Path file = directory.resolve(library);
        try (InputStream in = NativeLoader.class.getResourceAsStream(folder + library)) {
          if (in == null) {
            throw new UnsatisfiedLinkError("softprompt: " + folder + "libraries.txt lists " + library
                + ", which the jar lacks");
          }
          Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        System.load(file.toAbsolutePath().toString());
        // Once mapped, the file is no longer needed (on Linux); otherwise remove it at exit.
        if (!file.toFile().delete()) {
          file.toFile().deleteOnExit();
        }
      }
      directory.toFile().delete();
    } catch (IOException e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError("softprompt: cannot unpack the native libraries from the jar: " + e);
      error.initCause(e);
      throw error;
    }
  }

  /** The non-empty lines of a text resource, or an empty list when there is no such resource. */
  private static List<String> listed(String resource) {
    List<String> lines = new ArrayList<>();
    try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
      if (in == null) {
        return lines;
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (!line.trim().isEmpty()) {
          lines.add(line.trim());
        }
      }
      return lines;
    } catch (IOException e) {
      throw new UncheckedIOException("softprompt: cannot read " + resource, e);
    }
  }
}
