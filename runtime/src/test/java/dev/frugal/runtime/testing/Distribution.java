package dev.frugal.runtime.testing;

import java.util.Random;

/**
 * How a test draws the values of one input. Gradient checks use these to keep inputs away from
 * the points where an operation is not differentiable (kinks, ties, poles) by construction,
 * rather than by hoping a random draw misses them.
 */
@FunctionalInterface
public interface Distribution {
    /** Draws {@code count} values in row-major order. */
    double[] draw(Random rnd, int count);

    /** Standard normal values. */
    static Distribution normal() {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = rnd.nextGaussian();
            }
            return v;
        };
    }

    /** Uniform values in {@code [lo, hi)}. */
    static Distribution uniform(double lo, double hi) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = lo + (hi - lo) * rnd.nextDouble();
            }
            return v;
        };
    }

    /** Magnitudes uniform in {@code [lo, hi)} with a random sign: never within {@code lo} of zero. */
    static Distribution awayFromZero(double lo, double hi) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                double m = lo + (hi - lo) * rnd.nextDouble();
                v[i] = rnd.nextBoolean() ? m : -m;
            }
            return v;
        };
    }

    /**
     * Pairwise distinct values at least {@code gap} apart (a shuffled ladder with a little jitter),
     * so that max, min, sorting and max-pooling have no ties a perturbation could flip.
     */
    static Distribution distinct(double gap) {
        return (rnd, n) -> {
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                // jitter below gap/4 keeps neighbours at least gap/2 apart
                v[i] = (order[i] - n / 2.0) * gap + (rnd.nextDouble() - 0.5) * gap / 4;
            }
            return v;
        };
    }

    /**
     * Values on the grid {@code offset + k/2} (k integer in [-4, 4]) plus jitter below 0.05: two
     * draws with offsets 0 and 0.25 are never closer than 0.15, so MAXIMUM and MINIMUM of them
     * never tie, however they broadcast against each other.
     */
    static Distribution grid(double offset) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = offset + 0.5 * (rnd.nextInt(9) - 4) + (rnd.nextDouble() - 0.5) * 0.1;
            }
            return v;
        };
    }

    /** Integers uniform in {@code [0, bound)} (indices, labels). */
    static Distribution indices(int bound) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = rnd.nextInt(bound);
            }
            return v;
        };
    }

    /** Zeros and ones with equal probability (boolean masks). */
    static Distribution coinFlips() {
        return indices(2);
    }

    /** The same value everywhere. */
    static Distribution constant(double value) {
        return (rnd, n) -> {
            double[] v = new double[n];
            java.util.Arrays.fill(v, value);
            return v;
        };
    }
}
