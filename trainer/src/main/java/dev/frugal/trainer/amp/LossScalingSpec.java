package dev.frugal.trainer.amp;

import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.config.KeyValueSpec;

import java.util.Set;

/**
 * The {@code loss-scale} option: {@code auto} (dynamic scaling for fp16, none for bf16 and fp32),
 * {@code none}, or {@code dynamic[:init=65536,growth=2,backoff=0.5,interval=2000]} with any of
 * the keys given (the rest are PyTorch's defaults).
 */
public final class LossScalingSpec {
    private static final String USAGE = "expected auto, none or dynamic[:init=65536,growth=2,backoff=0.5,interval=2000]";

    private LossScalingSpec() {
    }

    /**
     * What {@code spec} means for a run in {@code precision}.
     *
     * @return the mixed-precision setting of the run
     * @throws IllegalArgumentException for a malformed spec, a bad value (naming it), or scaling asked of fp32
     */
    public static MixedPrecision resolve(String spec, Precision precision) {
        String[] parts = KeyValueSpec.nameAndOptions(spec == null ? "auto" : spec);
        switch (parts[0]) {
            case "auto" -> {
                requireNoOptions(parts);
                return MixedPrecision.of(precision);
            }
            case "none" -> {
                requireNoOptions(parts);
                return new MixedPrecision(precision, null);
            }
            case "dynamic" -> {
                if (precision == Precision.FP32) {
                    throw new IllegalArgumentException("loss-scale " + spec + " applies to fp16 or bf16 training; this run is fp32 (use --precision fp16)");
                }
                KeyValueSpec o = KeyValueSpec.parse("loss-scale", parts[1], Set.of("init", "growth", "backoff", "interval"), USAGE);
                LossScaling d = LossScaling.DEFAULTS;
                long interval = o.whole("interval", (long) d.growthInterval(), "steps");
                if (interval > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("loss-scale: interval " + interval + " steps is too large");
                }
                return new MixedPrecision(precision, new LossScaling(o.number("init", d.initialScale()), o.number("growth", d.growthFactor()),
                        o.number("backoff", d.backoffFactor()), (int) interval));
            }
            default -> throw new IllegalArgumentException("loss-scale: unknown kind '" + parts[0] + "'; " + USAGE);
        }
    }

    private static void requireNoOptions(String[] parts) {
        if (!parts[1].isBlank()) {
            throw new IllegalArgumentException("loss-scale " + parts[0] + " takes no options, got '" + parts[1] + "'; " + USAGE);
        }
    }
}
