package dev.frugal.cuda.cudnn;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LoadedLibrary;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Java mirrors of cuDNN's enums and of {@code cudnnConvolution*AlgoPerf_t} match the C
 * definitions: enum values are read from the {@code cudnn_*_v9.h} headers that ship next to the
 * loaded library (pip wheels and tarballs have {@code include/} beside {@code lib/}); struct
 * offsets are the ones gcc printed for those headers (48 bytes; status 4, time 8, memory 16,
 * determinism 24, mathType 28).
 */
class CudnnHeaderValuesTest {
  private static final Pattern ENUMERATOR = Pattern.compile("\\b(CUDNN_[A-Z0-9_]+)\\s*=\\s*(\\d+)\\b");

  /** Every {@code CUDNN_X = n} enumerator in the headers of the loaded cuDNN. */
  private static Map<String, Integer> headerValues() throws IOException {
    LoadedLibrary cudnn = NativeAssumptions.assumeLoaded(CudaLibrary.CUDNN);
    Path include = cudnn.path().toAbsolutePath().getParent().resolveSibling("include");
    assumeTrue(Files.isRegularFile(include.resolve("cudnn_graph_v9.h")),
        () -> "no cuDNN 9 headers beside " + cudnn.path() + " (looked in " + include + ")");
    Map<String, Integer> values = new HashMap<>();
    try (Stream<Path> headers = Files.list(include)) {
      for (Path header : headers.filter(p -> p.getFileName().toString().endsWith("_v9.h")).toList()) {
        for (String line : Files.readAllLines(header)) {
          Matcher m = ENUMERATOR.matcher(line);
          while (m.find()) {
            values.putIfAbsent(m.group(1), Integer.parseInt(m.group(2)));
          }
        }
      }
    }
    return values;
  }

  private static <E extends Enum<E> & CudnnEnum> void assertMatches(Map<String, Integer> header, Class<E> type,
      Function<E, String> cName) {
    for (E constant : type.getEnumConstants()) {
      String name = cName.apply(constant);
      Integer value = header.get(name);
      assertTrue(value != null, name + " (for " + type.getSimpleName() + "." + constant + ") is not in the headers");
      assertEquals(value.intValue(), constant.value(), type.getSimpleName() + "." + constant + " vs " + name);
      assertEquals(constant, CudnnEnum.of(type, value, name), "lookup by value");
    }
  }

  @Test
  void enumValuesMatchTheHeaders() throws IOException {
    Map<String, Integer> header = headerValues();
    assertMatches(header, CudnnDataType.class, t -> "CUDNN_DATA_" + t.name());
    assertMatches(header, TensorFormat.class, f -> "CUDNN_TENSOR_" + f.name());
    assertMatches(header, ConvolutionMode.class, m -> "CUDNN_" + m.name());
    assertMatches(header, CudnnMathType.class, m -> switch (m) {
      case DEFAULT -> "CUDNN_DEFAULT_MATH";
      case TENSOR_OP -> "CUDNN_TENSOR_OP_MATH";
      case TENSOR_OP_ALLOW_CONVERSION -> "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION";
      case FMA -> "CUDNN_FMA_MATH";
    });
    assertMatches(header, ForwardAlgorithm.class, a -> "CUDNN_CONVOLUTION_FWD_ALGO_" + a.name());
    assertMatches(header, BackwardDataAlgorithm.class,
        a -> "CUDNN_CONVOLUTION_BWD_DATA_ALGO_" + a.name().replaceFirst("^ALGO_", ""));
    assertMatches(header, BackwardFilterAlgorithm.class,
        a -> "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_" + a.name().replaceFirst("^ALGO_", ""));
    assertEquals(0, header.get("CUDNN_STATUS_SUCCESS"));
    assertEquals(Cudnn.SUCCESS, header.get("CUDNN_STATUS_SUCCESS"));
    assertEquals(1, header.get("CUDNN_DETERMINISTIC"), "AlgorithmPerf.deterministic reads determinism == 1");
  }

  @Test
  void unknownEnumValueIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ForwardAlgorithm.of(42));
    assertTrue(e.getMessage().contains("cudnnConvolutionFwdAlgo_t 42"), e.getMessage());
  }

  @Test
  void perfStructLayoutMatchesC() {
    assertEquals(48, Cudnn.ALGO_PERF.byteSize());
    assertEquals(4, offset("status"));
    assertEquals(8, offset("time"));
    assertEquals(16, offset("memory"));
    assertEquals(24, offset("determinism"));
    assertEquals(28, offset("mathType"));
  }

  private static long offset(String field) {
    return Cudnn.ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement(field));
  }

  @Test
  void perfResultsDecodeAndPickTheFirstUsableWithinLimits() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment results = arena.allocate(Cudnn.ALGO_PERF, 3);
      write(results, 0, 6, 0, 0.5f, 64L << 20, 0, 1);    // WINOGRAD: fast, 64 MiB, non-deterministic
      write(results, 1, 1, 0, 0.75f, 4096, 1, 0);        // IMPLICIT_PRECOMP_GEMM: deterministic, 4 KiB
      write(results, 2, 4, 3000, -1f, 0, 1, 0);           // FFT: not supported for this shape
      List<AlgorithmPerf<ForwardAlgorithm>> perf = Cudnn.readPerf(results, 3, ForwardAlgorithm::of);

      assertEquals(new AlgorithmPerf<>(ForwardAlgorithm.WINOGRAD, 0, "CUDNN_STATUS_SUCCESS", 0.5f, 64L << 20, false,
          CudnnMathType.TENSOR_OP), perf.get(0));
      assertEquals(ForwardAlgorithm.IMPLICIT_PRECOMP_GEMM, perf.get(1).algorithm());
      assertTrue(perf.get(1).deterministic());
      assertFalse(perf.get(2).isUsable());
      assertEquals(Cudnn.errorString(3000), perf.get(2).statusName());

      assertEquals(ForwardAlgorithm.WINOGRAD, AlgorithmPerf.best(perf, Long.MAX_VALUE, false).orElseThrow().algorithm());
      assertEquals(ForwardAlgorithm.IMPLICIT_PRECOMP_GEMM, AlgorithmPerf.best(perf, 1 << 20, false).orElseThrow().algorithm());
      assertEquals(ForwardAlgorithm.IMPLICIT_PRECOMP_GEMM, AlgorithmPerf.best(perf, Long.MAX_VALUE, true).orElseThrow().algorithm());
      assertEquals(Optional.empty(), AlgorithmPerf.best(perf, 1024, false));
    }
  }

  private static void write(MemorySegment results, int index, int algo, int status, float time, long memory,
      int determinism, int mathType) {
    MemorySegment one = results.asSlice(index * 48L, 48);
    one.set(JAVA_INT, 0, algo);
    one.set(JAVA_INT, 4, status);
    one.set(JAVA_FLOAT, 8, time);
    one.set(JAVA_LONG, 16, memory);
    one.set(JAVA_INT, 24, determinism);
    one.set(JAVA_INT, 28, mathType);
  }

  @Test
  void algorithmChoiceNeedsThreeUsableAlgorithmsAndSharesOneWorkspace() {
    AlgorithmPerf<ForwardAlgorithm> forward = new AlgorithmPerf<>(ForwardAlgorithm.GEMM, 0, "CUDNN_STATUS_SUCCESS",
        1f, 1000, true, CudnnMathType.DEFAULT);
    AlgorithmPerf<BackwardDataAlgorithm> data = new AlgorithmPerf<>(BackwardDataAlgorithm.ALGO_1, 0,
        "CUDNN_STATUS_SUCCESS", 1f, 5000, true, CudnnMathType.DEFAULT);
    AlgorithmPerf<BackwardFilterAlgorithm> filter = new AlgorithmPerf<>(BackwardFilterAlgorithm.ALGO_0, 0,
        "CUDNN_STATUS_SUCCESS", 1f, 20, false, CudnnMathType.DEFAULT);
    ConvolutionAlgorithms choice = new ConvolutionAlgorithms(forward, data, filter);
    assertEquals(5000, choice.workspaceBytes());
    assertFalse(choice.deterministic());

    AlgorithmPerf<BackwardFilterAlgorithm> unusable = new AlgorithmPerf<>(BackwardFilterAlgorithm.FFT, 3000,
        "CUDNN_STATUS_NOT_SUPPORTED", -1f, 0, true, CudnnMathType.DEFAULT);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ConvolutionAlgorithms(forward, data, unusable));
    assertTrue(e.getMessage().contains("backwardFilter algorithm FFT is not usable: CUDNN_STATUS_NOT_SUPPORTED"),
        e.getMessage());
  }
}
