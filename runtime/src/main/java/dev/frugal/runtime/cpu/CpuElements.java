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
 * Floating types go through {@code double} and round once on store (RNE for F16/BF16, as
 * {@link Elements} does: the value is first rounded to float, which is exactly the "compute in
 * float32, round on store" rule for results computed in float); integer types go through
 * {@code long} so 64-bit integers stay exact.
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
     * Rounds a double to F16 or BF16 once: narrowing to float with round-to-odd first keeps the
     * sticky information, so the final RNE step sees the exact value (no double rounding).
     */
    static short roundDoubleToHalf(double v, DType t) {
        float f = (float) v;
        if (!Float.isNaN(f) && !Float.isInfinite(f) && f != v) {
            int bits = Float.floatToRawIntBits(f);
            if (f == 0) {
                f = v > 0 ? Float.MIN_VALUE : -Float.MIN_VALUE; // far below any half subnormal: only the sign matters
            } else if ((bits & 1) == 0) {
                // RNE picked the even neighbour; round-to-odd wants the odd one on the same side of v.
                f = Float.intBitsToFloat((f > v) == (f > 0) ? bits - 1 : bits + 1);
            }
        }
        return t == DType.F16 ? Float16.fromFloat(f) : BFloat16.fromFloat(f);
    }
}
