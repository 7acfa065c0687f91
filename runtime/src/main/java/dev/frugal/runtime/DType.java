package dev.frugal.runtime;

import java.lang.foreign.ValueLayout;

/**
 * Element types a {@link Tensor} or a graph value can have.
 *
 * <p>F16 and BF16 are stored as 2-byte bit patterns and converted with round-to-nearest-even
 * ({@link dev.frugal.runtime.numeric.Float16}, {@link dev.frugal.runtime.numeric.BFloat16}), so
 * mixed precision is emulated bit-exactly on the CPU. F64 exists for reference computations
 * (finite-difference gradient checks); training runs in F32/F16/BF16. BOOL is stored as one byte
 * holding 0 or 1.
 */
public enum DType {
    F64("f64", 8, true),
    F32("f32", 4, true),
    F16("f16", 2, true),
    BF16("bf16", 2, true),
    I64("i64", 8, false),
    I32("i32", 4, false),
    U8("u8", 1, false),
    BOOL("bool", 1, false);

    private final String shortName;
    private final int byteSize;
    private final boolean floating;

    DType(String shortName, int byteSize, boolean floating) {
        this.shortName = shortName;
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for F64, F32, F16 and BF16: the types gradients flow through. */
    public boolean isFloating() {
        return floating;
    }

    /** True for the integer and boolean types. */
    public boolean isIntegral() {
        return !floating;
    }

    /** The short name used in printed graphs, e.g. {@code f32}. */
    public String shortName() {
        return shortName;
    }

    /**
     * The unaligned native-order layout of one stored element. F16 and BF16 are 16-bit patterns
     * ({@code JAVA_SHORT}); BOOL and U8 are bytes.
     */
    public ValueLayout storageLayout() {
        return switch (this) {
            case F64 -> ValueLayout.JAVA_DOUBLE_UNALIGNED;
            case F32 -> ValueLayout.JAVA_FLOAT_UNALIGNED;
            case F16, BF16 -> ValueLayout.JAVA_SHORT_UNALIGNED;
            case I64 -> ValueLayout.JAVA_LONG_UNALIGNED;
            case I32 -> ValueLayout.JAVA_INT_UNALIGNED;
            case U8, BOOL -> ValueLayout.JAVA_BYTE;
        };
    }

    /** Parses a short name ({@code f32}, {@code bf16}, ...) or an enum name, case-insensitively. */
    public static DType parse(String name) {
        for (DType t : values()) {
            if (t.shortName.equalsIgnoreCase(name) || t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "': expected one of f64, f32, f16, bf16, i64, i32, u8, bool");
    }

    @Override
    public String toString() {
        return shortName;
    }
}
