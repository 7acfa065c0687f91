package dev.frugal.cuda.internal;

import java.util.List;

/**
 * Which functions one binding class resolved in its library, for tests and diagnostics.
 *
 * @param library the library's short name
 * @param loaded whether the library itself was loaded
 * @param path the loaded file, or null
 * @param bound symbols that resolved
 * @param missing symbols the loaded library does not export (calling them throws)
 */
public record BindingReport(String library, boolean loaded, String path, List<String> bound, List<String> missing) {

  /** Copies the lists. */
  public BindingReport {
    bound = List.copyOf(bound);
    missing = List.copyOf(missing);
  }
}
