package dev.frugal.cuda.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.internal.BindingReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The driver symbols Frugal binds are the ones the CUDA headers compile calls to: where
 * {@code cuda.h} {@code #define}s a plain name to a versioned export ({@code cuMemAlloc} to
 * {@code cuMemAlloc_v2}), Frugal binds that export, never the legacy plain one; where it does not,
 * Frugal binds the plain name. Needs no driver: the symbol list comes from the binding report and
 * the names from the toolkit's {@code cuda.h} (skipped, with the reason, without one).
 */
class DriverSymbolNamesTest {
  /** {@code #define cuMemAlloc cuMemAlloc_v2} or {@code #define cuMemcpyHtoD __CUDA_API_PTDS(cuMemcpyHtoD_v2)}. */
  private static final Pattern DEFINE = Pattern.compile(
      "^\\s*#define\\s+(cu[A-Za-z0-9_]+)\\s+(?:__CUDA_API_PT(?:DS|SZ)\\()?(cu[A-Za-z0-9_]+)\\)?\\s*$");
  /**
   * Deliberately older ABIs, each documented at its binding: {@code cuEventElapsedTime_v2} needs a
   * 12.8 driver and only relaxes error checking.
   */
  private static final Set<String> OLDER_ON_PURPOSE = Set.of("cuEventElapsedTime");

  @Test
  void everyBoundDriverSymbolIsTheNameTheHeaderMapsTo() throws IOException {
    Path header = cudaHeader();
    assumeTrue(header != null, "no cuda.h under CUDA_HOME, CUDA_PATH or /usr/local/cuda/include");
    String text = Files.readString(header);
    Map<String, Set<String>> defines = new HashMap<>();
    for (String line : text.split("\n")) {
      Matcher matcher = DEFINE.matcher(line);
      if (matcher.matches() && !matcher.group(1).equals(matcher.group(2))) {
        defines.computeIfAbsent(matcher.group(1), name -> new HashSet<>()).add(matcher.group(2));
      }
    }
    BindingReport report = CudaDriver.bindingReport();
    List<String> symbols = new ArrayList<>(report.bound());
    symbols.addAll(report.missing());
    assertTrue(symbols.size() > 40, () -> "the driver binding lists only " + symbols);

    List<String> wrong = new ArrayList<>();
    for (String symbol : symbols) {
      boolean declared = text.contains(" CUDAAPI " + symbol + "(");
      boolean mappedTo = defines.entrySet().stream()
          .anyMatch(define -> define.getValue().contains(symbol) && text.contains(" CUDAAPI " + define.getKey() + "("));
      if (declared && defines.containsKey(symbol) && !OLDER_ON_PURPOSE.contains(symbol)) {
        wrong.add(symbol + ": cuda.h maps it to " + defines.get(symbol) + "; the plain export is a legacy ABI");
      } else if (!declared && !mappedTo) {
        wrong.add(symbol + ": cuda.h neither declares it nor maps a declared function to it");
      }
    }
    assertEquals(List.of(), wrong, () -> "checked against " + header);
  }

  private static Path cudaHeader() {
    List<String> roots = new ArrayList<>();
    for (String variable : List.of("CUDA_HOME", "CUDA_PATH")) {
      String value = System.getenv(variable);
      if (value != null && !value.isBlank()) {
        roots.add(value);
      }
    }
    roots.add("/usr/local/cuda");
    for (String root : roots) {
      Path header = Path.of(root, "include", "cuda.h");
      if (Files.isRegularFile(header)) {
        return header;
      }
    }
    return null;
  }
}
