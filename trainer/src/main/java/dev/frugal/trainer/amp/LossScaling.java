package dev.frugal.trainer.amp;

/**
 * Dynamic loss scaling with PyTorch {@code torch.amp.GradScaler}'s semantics: the loss is
 * multiplied by {@code scale} before the backward pass; when any gradient comes out non-finite
 * the step is skipped and the scale multiplied by {@code backoffFactor}; after
 * {@code growthInterval} steps in a row without one, it is multiplied by {@code growthFactor}
 * (when the result is finite).
 *
 * @param initialScale the first step's scale; PyTorch's default 2^16
 * @param growthFactor above 1; default 2
 * @param backoffFactor in (0, 1); default 0.5
 * @param growthInterval steps without overflow before growing, at least 1; default 2000
 */
public record LossScaling(double initialScale, double growthFactor, double backoffFactor, int growthInterval) {

    /** PyTorch's defaults: 2^16, growth 2, backoff 0.5, interval 2000. */
    public static final LossScaling DEFAULTS = new LossScaling(65536.0, 2.0, 0.5, 2000);

    /** Checks the values, naming the one that is wrong. */
    public LossScaling {
        if (!(initialScale > 0) || !Double.isFinite(initialScale) || (float) initialScale == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("loss-scale initial scale " + initialScale + ", expected a positive float32 value");
        }
        if (!(growthFactor > 1) || !Double.isFinite(growthFactor)) {
            throw new IllegalArgumentException("loss-scale growth factor " + growthFactor + ", expected a finite value above 1");
        }
        if (!(backoffFactor > 0 && backoffFactor < 1)) {
            throw new IllegalArgumentException("loss-scale backoff factor " + backoffFactor + ", expected a value in (0, 1)");
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("loss-scale growth interval " + growthInterval + " steps, expected at least 1");
        }
    }

    /** A description for logs and the run configuration. */
    public String describe() {
        return "dynamic(init=" + initialScale + ", growth=" + growthFactor + ", backoff=" + backoffFactor + ", interval=" + growthInterval + ")";
    }
}
