package dev.frugal.trainer.schedule;

import dev.frugal.trainer.config.KeyValueSpec;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code --schedule} specs into {@link LrSchedule}s. The grammar is
 * {@code NAME[:key=value,...]}:
 *
 * <ul>
 *   <li>{@code constant}</li>
 *   <li>{@code step:every=N[,gamma=G]} (gamma defaults to 0.1, as PyTorch's {@code StepLR})</li>
 *   <li>{@code warmup-cosine:warmup=N[,min=X]} (min defaults to 0); the warmup is a number of
 *       steps or a share of the planned steps, {@code warmup=2.5%}, so one spec fits runs of any
 *       length (a training recipe's default must not fail a short {@code --steps} run)</li>
 *   <li>{@code one-cycle[:pct=P,div=D,final-div=F]} (PyTorch's defaults 0.3, 25, 1e4)</li>
 * </ul>
 *
 * An unknown name or key, a missing required key, a repeated key or a malformed value gives an
 * {@link IllegalArgumentException} that lists what is valid.
 */
public final class LrSchedules {
    /** Every schedule name {@link #parse} accepts, with its syntax, for help texts and errors. */
    public static final List<String> SYNTAX = List.of(
        "constant",
        "step:every=N[,gamma=G]",
        "warmup-cosine:warmup=N|P%[,min=X]",
        "one-cycle[:pct=P,div=D,final-div=F]");

    private static final Map<String, Set<String>> KEYS = Map.of(
        "constant", Set.of(),
        "step", Set.of("every", "gamma"),
        "warmup-cosine", Set.of("warmup", "min"),
        "one-cycle", Set.of("pct", "div", "final-div"));

    private LrSchedules() {
    }

    /**
     * Builds the schedule a spec describes.
     *
     * @param spec for example {@code warmup-cosine:warmup=500,min=1e-5}; surrounding blanks ignored
     * @param baseLr the base (for one-cycle: peak) learning rate, from {@code --lr}
     * @param totalSteps the planned number of optimizer steps; needed by {@code warmup-cosine} and
     *     {@code one-cycle}, ignored by the others (pass 0 when unknown)
     * @return the schedule
     * @throws IllegalArgumentException if the spec is malformed, names an unknown schedule or key,
     *     lacks a required key, or a value is out of range; the message lists the valid forms
     */
    public static LrSchedule parse(String spec, double baseLr, long totalSteps) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty schedule; valid schedules: " + String.join(", ", SYNTAX));
        }
        String[] parts = KeyValueSpec.nameAndOptions(spec);
        String name = parts[0];
        Set<String> valid = KEYS.get(name);
        if (valid == null) {
            throw new IllegalArgumentException(
                "unknown schedule '" + name + "'; valid schedules: " + String.join(", ", SYNTAX));
        }
        KeyValueSpec options = KeyValueSpec.parse("schedule " + name, parts[1], valid, usage(name, valid));
        return switch (name) {
            case "constant" -> new ConstantSchedule(baseLr);
            case "step" -> new StepSchedule(baseLr,
                options.whole("every", null, "steps"), options.number("gamma", 0.1));
            case "warmup-cosine" -> {
                requireTotal(name, totalSteps);
                yield new WarmupCosineSchedule(baseLr,
                    stepsOrShare(name, options, "warmup", totalSteps), totalSteps, options.number("min", 0.0));
            }
            case "one-cycle" -> {
                requireTotal(name, totalSteps);
                yield new OneCycleSchedule(baseLr, totalSteps,
                    options.number("pct", OneCycleSchedule.DEFAULT_PCT),
                    options.number("div", OneCycleSchedule.DEFAULT_DIV),
                    options.number("final-div", OneCycleSchedule.DEFAULT_FINAL_DIV));
            }
            default -> throw new AssertionError(name);
        };
    }

    private static String usage(String name, Set<String> valid) {
        String syntax = SYNTAX.stream().filter(s -> s.equals(name) || s.startsWith(name + ":")
            || s.startsWith(name + "[")).findFirst().orElse(name);
        return valid.isEmpty() ? name + " takes no keys" : "valid: " + syntax;
    }

    /**
     * A required count of steps, written either as a whole number or as a percentage of
     * {@code totalSteps} ({@code 2.5%}, in [0, 100)), which rounds to the nearest step and stays
     * below {@code totalSteps}.
     */
    private static long stepsOrShare(String name, KeyValueSpec options, String key, long totalSteps) {
        String text = options.text(key);
        if (text == null || !text.endsWith("%")) {
            return options.whole(key, null, "steps");
        }
        double percent;
        try {
            percent = Double.parseDouble(text.substring(0, text.length() - 1).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                "schedule " + name + ": " + key + " must be a whole number of steps or a percentage such as 2.5%, got '" + text + "'");
        }
        if (!(percent >= 0 && percent < 100)) {
            throw new IllegalArgumentException(
                "schedule " + name + ": " + key + " as a percentage must be at least 0% and below 100%, got '" + text + "'");
        }
        return Math.min(totalSteps - 1, Math.round(totalSteps * percent / 100.0));
    }

    private static void requireTotal(String name, long totalSteps) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("schedule " + name
                + " needs the total number of steps, which is unknown here; give --epochs or --steps");
        }
    }
}
