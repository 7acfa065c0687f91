package dev.frugal.runtime.testing;

import dev.frugal.runtime.Tensor;

/**
 * A tensor's values as bits, for tests that demand bit-identical results (fused against unfused
 * programs): each value widened to double (exact for every dtype) and its raw bits taken, except
 * that every NaN is the same. IEEE leaves the sign and payload of a NaN an operation creates
 * unspecified, and the JIT's choice of instruction decides them.
 */
public final class Bits {
    private Bits() {
    }

    /** The values of {@code t} in row-major order, as raw double bits with every NaN canonical. */
    public static long[] of(Tensor t) {
        double[] d = t.toDoubleArray();
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = Double.isNaN(d[i]) ? Double.doubleToLongBits(Double.NaN) : Double.doubleToRawLongBits(d[i]);
        }
        return out;
    }
}
