package dev.frugal.cuda.discovery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Small file-system helpers for discovery that never throw: an unreadable folder is just empty. */
final class Folders {
  private Folders() {}

  /** Children of {@code dir} whose names start with {@code prefix}, newest-looking name first. */
  static List<Path> childrenStartingWith(Path dir, String prefix) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> children = Files.list(dir)) {
      return children
          .filter(child -> child.getFileName().toString().startsWith(prefix))
          .sorted(Comparator.comparing((Path child) -> child.getFileName().toString(), Folders::compareVersionsInNames)
              .reversed())
          .toList();
    } catch (IOException | SecurityException e) {
      return List.of();
    }
  }

  /**
   * Expands {@code *} wildcards, at most one per path element, e.g.
   * {@code /usr/lib/python3*}{@code /dist-packages} or {@code /etc/ld.so.conf.d/*.conf}.
   */
  static List<Path> glob(String pattern) {
    int star = pattern.indexOf('*');
    if (star < 0) {
      return List.of(Path.of(pattern));
    }
    int slashBefore = pattern.lastIndexOf('/', star);
    int slashAfter = pattern.indexOf('/', star);
    Path parent = Path.of(pattern.substring(0, Math.max(slashBefore, 1)));
    String prefix = pattern.substring(slashBefore + 1, star);
    String suffix = pattern.substring(star + 1, slashAfter < 0 ? pattern.length() : slashAfter);
    String rest = slashAfter < 0 ? "" : pattern.substring(slashAfter + 1);
    List<Path> result = new ArrayList<>();
    for (Path child : childrenStartingWith(parent, prefix)) {
      if (!child.getFileName().toString().endsWith(suffix)) {
        continue;
      }
      if (rest.isEmpty()) {
        result.add(child);
      } else {
        result.addAll(glob(child.resolve(rest).toString()));
      }
    }
    return result;
  }

  /** True if the path has a {@code stubs} element: the toolkit's link-time stubs are never loaded. */
  static boolean isStubFolder(Path path) {
    for (Path element : path) {
      if (element.toString().equals("stubs")) {
        return true;
      }
    }
    return false;
  }

  /** Orders names so that "cuda-13.0" sorts above "cuda-12.8" and "python3.12" above "python3.9". */
  static int compareVersionsInNames(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      char ca = a.charAt(i);
      char cb = b.charAt(j);
      if (Character.isDigit(ca) && Character.isDigit(cb)) {
        int endA = i;
        while (endA < a.length() && Character.isDigit(a.charAt(endA))) {
          endA++;
        }
        int endB = j;
        while (endB < b.length() && Character.isDigit(b.charAt(endB))) {
          endB++;
        }
        int cmp = Long.compare(parse(a.substring(i, endA)), parse(b.substring(j, endB)));
        if (cmp != 0) {
          return cmp;
        }
        i = endA;
        j = endB;
      } else {
        if (ca != cb) {
          return Character.compare(ca, cb);
        }
        i++;
        j++;
      }
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }

  private static long parse(String digits) {
    return digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits);
  }
}
