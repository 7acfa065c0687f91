package dev.frugal.nativetests.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Locale;

/**
 * Array comparisons that, on failure, say enough to debug on a remote GPU machine from the
 * report alone: how many elements are off, the worst one with its index, expected, actual, error
 * and bound, and the first few mismatches.
 */
public final class NumericAssert {
  private static final int SHOWN = 8;

  private NumericAssert() {}

  /**
   * Asserts {@code |actual[i] - expected[i]| <= tolerance * scale[i]} for every element (plus a
   * tiny absolute floor of {@code 1e-30} so exact zeros compare equal), and that no element is NaN
   * unless expected is.
   *
   * @param what names the result in the message, e.g. {@code "cublasGemmEx fp16 64x48x32"}
   * @param scale the magnitude each element's error is measured against, e.g. {@code |A|·|B|} for
   *     a GEMM, or {@code |expected|} for an elementwise op; same length as {@code expected}
   */
  public static void assertClose(String what, float[] expected, float[] actual, float[] scale, Tolerance tolerance) {
    assertEquals(expected.length, actual.length, what + ": result length");
    int bad = 0;
    int worst = -1;
    double worstRatio = 0;
    StringBuilder first = new StringBuilder();
    for (int i = 0; i < expected.length; i++) {
      double bound = tolerance.relative() * Math.abs(scale[i]) + 1e-30;
      double error = Math.abs((double) actual[i] - expected[i]);
      boolean nanMismatch = Float.isNaN(actual[i]) != Float.isNaN(expected[i]);
      boolean ok = !nanMismatch && (Float.isNaN(expected[i]) || error <= bound || actual[i] == expected[i]);
      if (!ok) {
        bad++;
        double ratio = nanMismatch ? Double.POSITIVE_INFINITY : error / bound;
        if (worst < 0 || ratio > worstRatio) {
          worst = i;
          worstRatio = ratio;
        }
        if (bad <= SHOWN) {
          first.append(String.format(Locale.ROOT, "%n    [%d] expected %.9g actual %.9g error %.3g bound %.3g",
              i, expected[i], actual[i], error, bound));
        }
      }
    }
    if (bad > 0) {
      fail(String.format(Locale.ROOT, "%s: %d of %d elements outside %s tolerance (relative %.1e of the scale);"
          + " worst [%d] expected %.9g actual %.9g scale %.9g%n  first mismatches:%s",
          what, bad, expected.length, tolerance, tolerance.relative(), worst, expected[worst], actual[worst],
          scale[worst], first));
    }
  }

  /** {@link #assertClose} with each element's own magnitude as its scale (elementwise ops). */
  public static void assertClose(String what, float[] expected, float[] actual, Tolerance tolerance) {
    float[] scale = new float[expected.length];
    for (int i = 0; i < scale.length; i++) {
      scale[i] = Math.abs(expected[i]);
    }
    assertClose(what, expected, actual, scale, tolerance);
  }

  /**
   * Asserts that two arrays of 16-bit patterns are identical, treating any two NaN patterns as
   * equal when {@code isNaN} says both are NaN (hardware and Java may pick different NaN payloads,
   * which carry no meaning).
   *
   * @param describe renders a pattern for the message (e.g. as hex and its float value)
   */
  public static void assertBitsEqual(String what, float[] inputs, short[] expected, short[] actual,
      java.util.function.IntPredicate isNaN, java.util.function.IntFunction<String> describe) {
    assertEquals(expected.length, actual.length, what + ": result length");
    int bad = 0;
    StringBuilder first = new StringBuilder();
    for (int i = 0; i < expected.length; i++) {
      int e = expected[i] & 0xffff;
      int a = actual[i] & 0xffff;
      if (e != a && !(isNaN.test(e) && isNaN.test(a))) {
        bad++;
        if (bad <= SHOWN) {
          first.append(String.format(Locale.ROOT, "%n    [%d] input %s (0x%08x): expected %s actual %s", i,
              Float.toString(inputs[i]), Float.floatToRawIntBits(inputs[i]), describe.apply(e), describe.apply(a)));
        }
      }
    }
    if (bad > 0) {
      fail(what + ": " + bad + " of " + expected.length + " conversions differ from the CPU's round-to-nearest-even;"
          + " first:" + first);
    }
  }
}
