package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Elements;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-element loads and stores for the CPU kernels' general (any dtype, any stride) paths.
 * Floating types go through {@code double}; a store to F16/BF16 first rounds the value to float
 * and then to nearest even, which is the "compute in float32, round on store" rule a GPU follows
 * (the eager {@link Elements#set} instead rounds a double straight to the stored type). Integer
 * types go through {@code long} so 64-bit integers stay exact.
 */
final class CpuElements {
    private CpuElements() {
    }

    /** The segment of a CPU buffer. */
    static MemorySegment seg(Buffer[] slots, int slot) {
        return ((CpuBuffer) slots[slot]).segment();
    }

    static double load(MemorySegment s, DType t, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case F64 -> s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            default -> Elements.get(s, t, i);
        };
    }

    static void store(MemorySegment s, DType t, long i, double v) {
        switch (t) {
            case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
            case F64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            case F16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float16.fromFloat((float) v));
            case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, BFloat16.fromFloat((float) v));
            default -> Elements.set(s, t, i, v);
        }
    }

    static long loadLong(MemorySegment s, DType t, long i) {
        return switch (t) {
            case I64 -> s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case I32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            default -> (long) load(s, t, i);
        };
    }

    static void storeLong(MemorySegment s, DType t, long i, long v) {
        switch (t) {
            case I64 -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, v);
            case I32 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) v);
            case U8 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            default -> store(s, t, i, v);
        }
    }

    /** Copies one element of {@code bytes} bytes (1, 2, 4 or 8) between arbitrary element indices. */
    static void copyElement(int bytes, MemorySegment src, long si, MemorySegment dst, long di) {
        switch (bytes) {
            case 8 -> dst.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, di, src.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, si));
            case 4 -> dst.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, di, src.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, si));
            case 2 -> dst.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, di, src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, si));
            default -> dst.set(ValueLayout.JAVA_BYTE, di, src.get(ValueLayout.JAVA_BYTE, si));
        }
    }

    /**
     * Rounds a 64-bit integer to F16 or BF16 once. Beyond 2^53 the conversion to double is itself
     * inexact, so it is made round-to-odd first (the odd one of the two doubles around the
     * integer), which keeps the final nearest-even rounding exact.
     */
    static short roundLongToHalf(long v, DType t) {
        double d = (double) v;
        boolean exact = d != 0x1.0p63 && (long) d == v;
        if (!exact && (Double.doubleToRawLongBits(d) & 1) == 0) {
            boolean above = d == 0x1.0p63 || (long) d > v;
            d = above ? Math.nextDown(d) : Math.nextUp(d);
        }
        return roundDoubleToHalf(d, t);
    }

    /** Rounds a double to F16 or BF16 once (no double rounding through float). */
    static short roundDoubleToHalf(double v, DType t) {
        return t == DType.F16 ? Float16.fromDouble(v) : BFloat16.fromDouble(v);
    }
}
