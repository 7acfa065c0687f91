package dev.frugal.trainer.schedule;

import java.util.Locale;

/** Argument checks and number formatting shared by the schedules; not part of the API. */
final class Schedules {
    private Schedules() {
    }

    static void checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must not be negative, got " + step);
        }
    }

    static double checkRate(String name, double value) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
        }
        return value;
    }

    /** Shortest text that reads back as the same double, so {@code describe()} loses nothing. */
    static String num(double value) {
        return Double.toString(value).toLowerCase(Locale.ROOT);
    }
}
