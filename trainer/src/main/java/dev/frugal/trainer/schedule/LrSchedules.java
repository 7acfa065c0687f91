package dev.frugal.trainer.schedule;

import java.util.LinkedHashMap;
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
        String trimmed = spec.strip();
        int colon = trimmed.indexOf(':');
        String name = colon < 0 ? trimmed : trimmed.substring(0, colon).strip();
        Set<String> valid = KEYS.get(name);
        if (valid == null) {
            throw new IllegalArgumentException(
                "unknown schedule '" + name + "'; valid schedules: " + String.join(", ", SYNTAX));
        }
        Map<String, String> options = options(name, colon < 0 ? "" : trimmed.substring(colon + 1), valid);
        return switch (name) {
            case "constant" -> new ConstantSchedule(baseLr);
            case "step" -> new StepSchedule(baseLr,
                longValue(name, options, "every", null), doubleValue(name, options, "gamma", 0.1));
            case "warmup-cosine" -> {
                requireTotal(name, totalSteps);
                yield new WarmupCosineSchedule(baseLr,
                    stepsOrShare(name, options, "warmup", totalSteps), totalSteps, doubleValue(name, options, "min", 0.0));
            }
            case "one-cycle" -> {
                requireTotal(name, totalSteps);
                yield new OneCycleSchedule(baseLr, totalSteps,
                    doubleValue(name, options, "pct", OneCycleSchedule.DEFAULT_PCT),
                    doubleValue(name, options, "div", OneCycleSchedule.DEFAULT_DIV),
                    doubleValue(name, options, "final-div", OneCycleSchedule.DEFAULT_FINAL_DIV));
            }
            default -> throw new AssertionError(name);
        };
    }

    private static Map<String, String> options(String name, String text, Set<String> valid) {
        Map<String, String> options = new LinkedHashMap<>();
        if (text.isBlank()) {
            return options;
        }
        for (String part : text.split(",", -1)) {
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException(
                    "schedule " + name + ": expected key=value, got '" + part.strip() + "'; " + usage(name, valid));
            }
            String key = part.substring(0, eq).strip();
            if (!valid.contains(key)) {
                throw new IllegalArgumentException(
                    "schedule " + name + ": unknown key '" + key + "'; " + usage(name, valid));
            }
            if (options.put(key, part.substring(eq + 1).strip()) != null) {
                throw new IllegalArgumentException("schedule " + name + ": key '" + key + "' given twice");
            }
        }
        return options;
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
    private static long stepsOrShare(String name, Map<String, String> options, String key, long totalSteps) {
        String text = options.get(key);
        if (text == null || !text.endsWith("%")) {
            return longValue(name, options, key, null);
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

    private static long longValue(String name, Map<String, String> options, String key, Long fallback) {
        String text = options.get(key);
        if (text == null) {
            if (fallback == null) {
                throw new IllegalArgumentException(
                    "schedule " + name + ": missing required key '" + key + "'; " + usage(name, KEYS.get(name)));
            }
            return fallback;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                "schedule " + name + ": " + key + " must be a whole number of steps, got '" + text + "'");
        }
    }

    private static double doubleValue(String name, Map<String, String> options, String key, double fallback) {
        String text = options.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("schedule " + name + ": " + key + " must be a number, got '" + text + "'");
        }
    }

    private static void requireTotal(String name, long totalSteps) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("schedule " + name
                + " needs the total number of steps, which is unknown here; give --epochs or --steps");
        }
    }
}
