package dev.frugal.trainer.data;

import java.util.Locale;

/**
 * How a {@link Curriculum}'s competence, the share of the training set (easiest first) that
 * batches are drawn from, grows from {@code c0} to 1 over {@code T} steps; Platanios et al. 2019,
 * "Competence-based curriculum learning for neural machine translation".
 */
public enum Pacing {
    /** {@code c(t) = min(1, t (1 - c0) / T + c0)}. */
    LINEAR,
    /** {@code c(t) = min(1, sqrt(t (1 - c0^2) / T + c0^2))}: grows fast at first, the paper's best. */
    ROOT;

    /**
     * The competence after {@code t} curriculum steps.
     *
     * @param t steps into the curriculum, not negative
     * @param total {@code T}, the step at which the competence reaches 1; at least 1
     * @param start {@code c0}, the competence at step 0, in (0, 1]
     * @return the competence, in [c0, 1]
     */
    public double competence(long t, long total, double start) {
        if (t < 0) {
            throw new IllegalArgumentException("curriculum step must not be negative, got " + t);
        }
        if (t >= total) {
            return 1.0;
        }
        double c = switch (this) {
            case LINEAR -> t * (1 - start) / total + start;
            case ROOT -> Math.sqrt(t * (1 - start * start) / total + start * start);
        };
        return Math.min(1.0, c);
    }

    /** The name as specs write it: {@code linear} or {@code root}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The pacing a spec names.
     *
     * @param text {@code linear} or {@code root}
     * @return the pacing
     * @throws IllegalArgumentException for another name, listing the valid ones
     */
    public static Pacing parse(String text) {
        for (Pacing p : values()) {
            if (p.label().equals(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("curriculum: pacing must be linear or root, got '" + text + "'");
    }
}
