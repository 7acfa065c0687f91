package dev.frugal.cuda.discovery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The folders the system's dynamic linker searches: {@code LD_LIBRARY_PATH}, the folders listed in
 * {@code /etc/ld.so.conf} (following its {@code include} lines) and the built-in defaults. Read
 * from the files instead of running {@code ldconfig -p}, so discovery starts no process.
 */
public final class LinkerPaths {
  private static final List<String> DEFAULT_FOLDERS = List.of(
      "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
      "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/lib/wsl/lib");

  private LinkerPaths() {}

  /** Folders from {@code LD_LIBRARY_PATH} in the given environment, in order. */
  public static List<Path> ldLibraryPath(Map<String, String> environment) {
    List<Path> folders = new ArrayList<>();
    String value = environment.get("LD_LIBRARY_PATH");
    if (value != null) {
      for (String entry : value.split(":")) {
        if (!entry.isBlank()) {
          folders.add(Path.of(entry.trim()));
        }
      }
    }
    return folders;
  }

  /** {@code LD_LIBRARY_PATH}, then {@code /etc/ld.so.conf} folders, then the default folders. */
  public static List<Path> all(Map<String, String> environment) {
    return all(environment, "");
  }

  /**
   * {@link #all(Map)} with the configuration and default folders read under {@code root} ({@code ""}
   * for this machine, a fake root folder in tests); {@code LD_LIBRARY_PATH} is taken as it is.
   */
  static List<Path> all(Map<String, String> environment, String root) {
    Set<Path> folders = new LinkedHashSet<>(ldLibraryPath(environment));
    readConfig(root, Path.of(root + "/etc/ld.so.conf"), folders, 0);
    for (String folder : DEFAULT_FOLDERS) {
      folders.add(Path.of(root + folder));
    }
    return List.copyOf(folders);
  }

  private static void readConfig(String root, Path file, Set<Path> folders, int depth) {
    if (depth > 4 || !Files.isReadable(file)) {
      return;
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException | SecurityException e) {
      return;
    }
    for (String raw : lines) {
      String line = raw.strip();
      int comment = line.indexOf('#');
      if (comment >= 0) {
        line = line.substring(0, comment).strip();
      }
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("include ")) {
        String pattern = line.substring("include ".length()).strip();
        pattern = pattern.startsWith("/") ? root + pattern : file.getParent().resolve(pattern).toString();
        for (Path included : Folders.glob(pattern)) {
          readConfig(root, included, folders, depth + 1);
        }
      } else if (line.startsWith("/")) {
        folders.add(Path.of(root + line));
      }
    }
  }
}
