package dev.frugal.trainer.report;

import java.util.Locale;

/**
 * What an axis measures, and the unit that keeps its tick labels short for the range plotted:
 * seconds become minutes or hours, joules kilojoules, bytes MiB or GiB, a fraction a percentage.
 */
enum Quantity {
    /** Counts (steps); no unit. */
    COUNT,
    /** A plain number (loss, learning rate); no unit. */
    PLAIN,
    /** A fraction shown in percent. */
    FRACTION,
    /** Seconds of wall time. */
    SECONDS,
    /** Joules. */
    JOULES,
    /** Bytes, binary units. */
    BYTES,
    /** Samples per second. */
    RATE;

    /** A unit: values are divided by {@code divisor} and the axis label gets {@code suffix}. */
    record Unit(double divisor, String suffix) {
        String label(String name) {
            return suffix.isEmpty() ? name : name + " (" + suffix + ")";
        }
    }

    /**
     * The unit for values up to {@code max}.
     *
     * @param max the largest value plotted (0 when unknown)
     * @return its unit
     */
    Unit unitFor(double max) {
        double m = Math.abs(max);
        return switch (this) {
            case COUNT, PLAIN -> new Unit(1, "");
            case FRACTION -> new Unit(0.01, "%");
            case SECONDS -> m >= 3 * 3600 ? new Unit(3600, "h") : m >= 180 ? new Unit(60, "min") : new Unit(1, "s");
            case JOULES -> m >= 3e6 ? new Unit(1e6, "MJ") : m >= 3e3 ? new Unit(1e3, "kJ") : new Unit(1, "J");
            case BYTES -> {
                String[] names = {"B", "KiB", "MiB", "GiB", "TiB"};
                int i = 0;
                while (i < names.length - 1 && m >= 2 * Math.pow(1024, i + 1)) {
                    i++;
                }
                yield new Unit(Math.pow(1024, i), names[i]);
            }
            case RATE -> m >= 3e6 ? new Unit(1e6, "million samples/s") : m >= 3e4 ? new Unit(1e3, "thousand samples/s") : new Unit(1, "samples/s");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
