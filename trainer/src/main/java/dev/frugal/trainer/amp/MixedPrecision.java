package dev.frugal.trainer.amp;

import dev.frugal.runtime.precision.Precision;

import java.util.Objects;

/**
 * How a run uses mixed precision: the precision the {@code Executor}'s autocast pass casts the
 * step to, and the loss scaling, if any.
 *
 * @param precision FP32, FP16 or BF16
 * @param scaling dynamic loss scaling, or null for none (FP32 never scales)
 */
public record MixedPrecision(Precision precision, LossScaling scaling) {

    /** Plain float32 training. */
    public static final MixedPrecision FP32 = new MixedPrecision(Precision.FP32, null);

    /** Checks that FP32 has no scaling. */
    public MixedPrecision {
        Objects.requireNonNull(precision, "precision");
        if (precision == Precision.FP32 && scaling != null) {
            throw new IllegalArgumentException("loss scaling applies to fp16 or bf16 training, not fp32");
        }
    }

    /**
     * The usual choice for {@code precision}: FP16 with PyTorch's default dynamic loss scaling
     * (half precision's range is too narrow for small gradients), BF16 without (its exponent
     * range is float32's).
     */
    public static MixedPrecision of(Precision precision) {
        return new MixedPrecision(precision, precision == Precision.FP16 ? LossScaling.DEFAULTS : null);
    }

    /** Whether the loss is scaled (and steps with non-finite gradients skipped). */
    public boolean scalesLoss() {
        return scaling != null;
    }

    /** A description for logs, e.g. {@code fp16, loss scaling dynamic(init=65536.0, ...)}. */
    public String describe() {
        return precision.label() + (scaling == null ? "" : ", loss scaling " + scaling.describe());
    }
}
