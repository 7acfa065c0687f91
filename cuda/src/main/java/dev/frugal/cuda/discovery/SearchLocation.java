package dev.frugal.cuda.discovery;

import java.nio.file.Path;

/**
 * One folder searched for CUDA libraries, with the reason it is on the search path.
 *
 * @param directory the folder
 * @param origin where it came from, e.g. {@code "FRUGAL_CUDA_LIBS"}, {@code "site-packages"},
 *     {@code "/usr/local/cuda*"} or {@code "linker path"}
 */
public record SearchLocation(Path directory, String origin) {

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return directory + " (" + origin + ")";
  }
}
