package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Helpers for the CPU backend's forward tests: random inputs of any dtype, the rounding a
 * kernel applies when it stores a value computed in double, row-major index arithmetic for the
 * float64 reference loops, and comparisons that report the element and the seed.
 */
final class CpuReference {
    /** Every dtype, in declaration order. */
    static final DType[] ALL = DType.values();
    /** The floating dtypes. */
    static final DType[] FLOATING = {DType.F64, DType.F32, DType.F16, DType.BF16};
    /** The numeric (non-bool) dtypes. */
    static final DType[] NUMERIC = {DType.F64, DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32, DType.U8};

    private CpuReference() {
    }

    /**
     * A tensor of {@code shape} with random values for {@code t}: floats roughly in [lo, hi),
     * signed integers in [-20, 20], u8 in [0, 255], bools 0/1.
     */
    static Tensor random(Random rnd, DType t, Shape shape, double lo, double hi) {
        double[] v = new double[(int) shape.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (t) {
                case F64, F32, F16, BF16 -> lo + (hi - lo) * rnd.nextDouble();
                case I64, I32 -> rnd.nextInt(41) - 20;
                case U8 -> rnd.nextInt(256);
                case BOOL -> rnd.nextInt(2);
            };
        }
        return Tensor.of(v, t, shape.dims());
    }

    /** The value a kernel stores for a result {@code v} computed in double (float32 first for F16/BF16; integers wrap). */
    static double store(DType t, double v) {
        return switch (t) {
            case F64 -> v;
            case F32 -> (float) v;
            case F16 -> Float16.toFloat(Float16.fromFloat((float) v));
            case BF16 -> BFloat16.toFloat(BFloat16.fromFloat((float) v));
            case I64 -> (double) (long) v;
            case I32 -> (double) (int) (long) v;
            case U8 -> (double) (((long) v) & 0xff);
            case BOOL -> v != 0 ? 1 : 0;
        };
    }

    /** The value an integer kernel stores for a result {@code v} computed in long. */
    static double storeLong(DType t, long v) {
        return switch (t) {
            case I64 -> (double) v;
            case I32 -> (double) (int) v;
            case U8 -> (double) (v & 0xff);
            case BOOL -> v != 0 ? 1 : 0;
            default -> store(t, v);
        };
    }

    /** Row-major multi-index of flat position {@code flat} in {@code dims}. */
    static int[] unravel(long flat, int[] dims) {
        int[] idx = new int[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = (int) (flat % dims[d]);
            flat /= dims[d];
        }
        return idx;
    }

    /** Row-major flat position of {@code idx} in {@code dims}. */
    static long ravel(int[] idx, int[] dims) {
        long f = 0;
        for (int d = 0; d < dims.length; d++) {
            f = f * dims[d] + idx[d];
        }
        return f;
    }

    /** Flat position in {@code from} that broadcasts to multi-index {@code outIdx} of a larger shape. */
    static long broadcastIndex(int[] outIdx, int[] from) {
        int lead = outIdx.length - from.length;
        long f = 0;
        for (int d = 0; d < from.length; d++) {
            f = f * from[d] + (from[d] == 1 ? 0 : outIdx[d + lead]);
        }
        return f;
    }

    /** Exact (bitwise for doubles, NaN equal to NaN) comparison with context. */
    static void assertSame(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i]) && Double.isNaN(actual[i])) {
                continue;
            }
            assertEquals(expected[i], actual[i], 0.0, what + ": element " + i);
            if (expected[i] == 0) {
                assertEquals(Double.doubleToRawLongBits(expected[i]) < 0, Double.doubleToRawLongBits(actual[i]) < 0, what + ": sign of zero at " + i);
            }
        }
    }

    /** Comparison within {@code tol} relative to {@code scale[i]} (or 1). */
    static void assertClose(double[] expected, double[] actual, double tol, double[] scale, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i]) && Double.isNaN(actual[i])) {
                continue;
            }
            double s = Math.max(1, scale == null ? Math.abs(expected[i]) : scale[i]);
            assertEquals(expected[i], actual[i], tol * s, what + ": element " + i);
        }
    }
}
