package dev.frugal.cuda.cublas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every enum value Frugal passes to cuBLAS/cuBLASLt equals the one in the headers shipped next to
 * the loaded library ({@code nvidia/cu13/include} in the pip wheel). Skips where the library or
 * its headers are absent.
 */
class CublasHeaderValuesTest {
  /** {@code NAME = value} of an enumerator, also several on one line ({@code typedef enum { A = 0, B = 1 } t;}). */
  private static final Pattern ENUMERATOR = Pattern.compile("\\b(CUBLAS[A-Z0-9_]*)\\s*=\\s*([^,}/]+)");
  private static Map<String, Long> values;

  @BeforeAll
  static void readHeaders() throws IOException {
    Path include = NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS).path().getParent().resolveSibling("include");
    assumeTrue(Files.isRegularFile(include.resolve("cublas_api.h")) && Files.isRegularFile(include.resolve("cublasLt.h")),
        () -> "no cuBLAS headers next to the loaded library in " + include);
    values = new HashMap<>();
    for (String header : new String[] {"cublas_api.h", "cublasLt.h"}) {
      for (String line : Files.readAllLines(include.resolve(header))) {
        Matcher matcher = ENUMERATOR.matcher(line);
        while (matcher.find()) {
          Long value = evaluate(matcher.group(2));
          if (value != null) {
            values.putIfAbsent(matcher.group(1), value);
          }
        }
      }
    }
  }

  /** Evaluates {@code 8 | 128}, {@code (CUBLASLT_EPILOGUE_RELU | CUBLASLT_EPILOGUE_BIAS)}, {@code -1}. */
  private static Long evaluate(String expression) {
    long result = 0;
    for (String term : expression.replace("(", "").replace(")", "").split("\\|")) {
      String name = term.strip();
      if (name.matches("-?\\d+")) {
        result |= Long.parseLong(name);
      } else if (values.containsKey(name)) {
        result |= values.get(name);
      } else {
        return null;
      }
    }
    return result;
  }

  private static void assertHeaderValue(String name, long actual) {
    Long expected = values.get(name);
    assertNotNull(expected, () -> name + " is not in the headers");
    assertEquals(expected.longValue(), actual, name);
  }

  @Test
  void computeTypesMatchTheHeader() {
    for (ComputeType type : ComputeType.values()) {
      assertHeaderValue("CUBLAS_" + type.name(), type.value());
    }
  }

  @Test
  void epiloguesMatchTheHeader() {
    for (Epilogue epilogue : Epilogue.values()) {
      assertHeaderValue("CUBLASLT_EPILOGUE_" + epilogue.name(), epilogue.value());
    }
  }

  @Test
  void operationsMathModesAndGemmConstantsMatchTheHeader() {
    for (Operation operation : Operation.values()) {
      assertHeaderValue("CUBLAS_OP_" + operation.name(), operation.value());
    }
    assertHeaderValue("CUBLAS_DEFAULT_MATH", MathMode.DEFAULT);
    assertHeaderValue("CUBLAS_PEDANTIC_MATH", MathMode.PEDANTIC);
    assertHeaderValue("CUBLAS_TF32_TENSOR_OP_MATH", MathMode.TF32_TENSOR_OP);
    assertHeaderValue("CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION", MathMode.DISALLOW_REDUCED_PRECISION_REDUCTION);
    assertHeaderValue("CUBLAS_GEMM_DEFAULT", Cublas.GEMM_DEFAULT);
    assertHeaderValue("CUBLAS_POINTER_MODE_HOST", Cublas.POINTER_MODE_HOST);
    assertHeaderValue("CUBLAS_POINTER_MODE_DEVICE", Cublas.POINTER_MODE_DEVICE);
    assertHeaderValue("CUBLAS_STATUS_INVALID_VALUE", 7);
  }

  @Test
  void matmulDescriptorAttributesMatchTheHeader() throws IllegalAccessException {
    int checked = 0;
    for (Field field : MatmulDescAttribute.class.getFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getType() == int.class) {
        assertHeaderValue("CUBLASLT_MATMUL_DESC_" + field.getName(), field.getInt(null));
        checked++;
      }
    }
    assertEquals(13, checked, "MatmulDescAttribute constants checked");
    assertHeaderValue("CUBLASLT_MATRIX_LAYOUT_ORDER", 1);
    assertHeaderValue("CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT", 5);
    assertHeaderValue("CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET", 6);
    assertHeaderValue("CUBLASLT_ORDER_ROW", 1);
    assertHeaderValue("CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES", 1);
  }
}
