package dev.frugal.trainer.budget;

import dev.frugal.memory.ByteFormat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Hard limits on what a training run may spend; each is -1 when not set.
 *
 * @param timeSeconds  wall-clock seconds of training (the whole run, resumed parts included)
 * @param energyJoules joules the device draws while training
 * @param memoryBytes  bytes of memory in all (the memory planner's budget)
 * @param steps        optimizer steps
 */
public record Budgets(double timeSeconds, double energyJoules, long memoryBytes, long steps) {
    /** No budget at all. */
    public static final Budgets NONE = new Budgets(-1, -1, -1, -1);

    /** Checks each budget is unset (-1) or positive. */
    public Budgets {
        check("budget-time", timeSeconds);
        check("budget-energy", energyJoules);
        check("budget-memory", memoryBytes);
        check("budget-steps", steps);
    }

    private static void check(String name, double value) {
        if (value != -1 && !(value > 0 && Double.isFinite(value))) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }

    /**
     * Budgets from option values, each null when not given: {@code time} such as {@code 10m},
     * {@code energy} such as {@code 50kJ}, {@code memory} such as {@code 2GiB}, {@code steps} a
     * positive whole number.
     *
     * @throws IllegalArgumentException naming the option and the accepted forms when a value is malformed
     */
    public static Budgets parse(String time, String energy, String memory, Long steps) {
        double t = time == null ? -1 : BudgetUnits.parseDuration("budget-time", time);
        double e = energy == null ? -1 : BudgetUnits.parseEnergy("budget-energy", energy);
        long m = -1;
        if (memory != null) {
            try {
                m = ByteFormat.parse(memory);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("budget-memory: " + ex.getMessage(), ex);
            }
            if (m < 1) {
                throw new IllegalArgumentException("budget-memory must be more than 0 bytes, got '" + memory + "'");
            }
        }
        if (steps != null && steps < 1) {
            throw new IllegalArgumentException("budget-steps must be at least 1, got " + steps);
        }
        return new Budgets(t, e, m, steps == null ? -1 : steps);
    }

    /** Whether any budget is set. */
    public boolean any() {
        return timeSeconds > 0 || energyJoules > 0 || memoryBytes > 0 || steps > 0;
    }

    /** Whether a budget that the trainer watches during the run (time, energy, steps) is set. */
    public boolean watchesRun() {
        return timeSeconds > 0 || energyJoules > 0 || steps > 0;
    }

    /** This budget with another memory budget. */
    public Budgets withMemoryBytes(long bytes) {
        return new Budgets(timeSeconds, energyJoules, bytes, steps);
    }

    /** e.g. {@code time 2m0s, energy 50.0 kJ}; {@code none} when nothing is set. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        if (timeSeconds > 0) {
            parts.add("time " + BudgetUnits.formatDuration(timeSeconds));
        }
        if (energyJoules > 0) {
            parts.add("energy " + BudgetUnits.formatEnergy(energyJoules));
        }
        if (memoryBytes > 0) {
            parts.add("memory " + ByteFormat.format(memoryBytes));
        }
        if (steps > 0) {
            parts.add(String.format(Locale.ROOT, "steps %d", steps));
        }
        return parts.isEmpty() ? "none" : String.join(", ", parts);
    }
}
