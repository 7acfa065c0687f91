package dev.frugal.runtime.precision;

import dev.frugal.runtime.DType;

import java.util.Arrays;
import java.util.Locale;

/**
 * The numeric precision a program is trained or run in: FP32 everywhere, or mixed precision with
 * FP16 or BF16 as the low-precision type of the operations {@link AutocastPolicy} puts there.
 */
public enum Precision {
    /** Every floating operation in float32: no autocast. */
    FP32(DType.F32),
    /** Mixed precision with IEEE half precision: needs loss scaling to keep small gradients. */
    FP16(DType.F16),
    /** Mixed precision with bfloat16: float32's exponent range, so no loss scaling by default. */
    BF16(DType.BF16);

    private final DType low;

    Precision(DType low) {
        this.low = low;
    }

    /** The dtype of the operations run in low precision (F32 for {@link #FP32}). */
    public DType lowDtype() {
        return low;
    }

    /** True for FP16 and BF16. */
    public boolean isMixed() {
        return this != FP32;
    }

    /** The command-line spelling: fp32, fp16 or bf16. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses fp32, fp16 or bf16 (case-insensitive).
     *
     * @throws IllegalArgumentException naming the valid spellings
     */
    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.label().equalsIgnoreCase(text == null ? "" : text.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + text + "'; valid: "
                + String.join(", ", Arrays.stream(values()).map(Precision::label).toList()));
    }
}
