package dev.frugal.runtime;

import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads and writes single elements of any {@link DType} as {@code double}, rounding on store
 * exactly as the stored type requires (one round-to-nearest-even for F32, F16 and BF16, straight
 * from the double; truncation toward zero to 64 bits, then wrapping to the narrower integer type,
 * exactly as the CAST op does; {@code != 0} for BOOL). Used by eager conveniences and reference code, never by hot kernels.
 */
public final class Elements {
    private Elements() {
    }

    /** Reads element {@code index} (in elements, not bytes) of a segment holding {@code dtype}. */
    public static double get(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case F64 -> seg.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, index);
            case F32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index);
            case F16 -> Float16.toFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
            case BF16 -> BFloat16.toFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
            case I64 -> seg.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index);
            case I32 -> seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index);
            case U8 -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xff;
            case BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
        };
    }

    /** Writes element {@code index} of a segment holding {@code dtype}, rounding as the type does. */
    public static void set(MemorySegment seg, DType dtype, long index, double value) {
        switch (dtype) {
            case F64 -> seg.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, index, value);
            case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, index, (float) value);
            case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index, Float16.fromDouble(value));
            case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index, BFloat16.fromDouble(value));
            case I64 -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index, (long) value);
            // like the CAST kernel: truncate toward zero to 64 bits, then wrap to the narrower type
            case I32 -> seg.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index, (int) (long) value);
            case U8 -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (long) value);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (value != 0 ? 1 : 0));
        }
    }

    /**
     * Reads element {@code index} as a long: integers exactly, BOOL as 0/1, floating elements as
     * their bit patterns (only meaningful for a same-dtype move).
     */
    static long getLong(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case F64, I64 -> seg.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index);
            case F32, I32 -> seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index);
            case F16, BF16 -> seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index);
            case U8 -> seg.get(ValueLayout.JAVA_BYTE, index) & 0xff;
            case BOOL -> seg.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
        };
    }

    /**
     * Writes a value read by {@link #getLong}: with {@code raw} (same dtype) the bits as they
     * are; otherwise an integer, wrapped to the type (BOOL is {@code != 0}).
     */
    static void setLong(MemorySegment seg, DType dtype, long index, long value, boolean raw) {
        switch (dtype) {
            case F64, I64 -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, index, value);
            case F32, I32 -> seg.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, index, (int) value);
            case F16, BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index, (short) value);
            case U8 -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) value);
            case BOOL -> seg.set(ValueLayout.JAVA_BYTE, index, (byte) (raw ? value : value != 0 ? 1 : 0));
        }
    }
}
