package dev.frugal.trainer;

import java.util.Objects;

/**
 * Decides when training should stop because an evaluation metric stopped improving: after
 * {@code patience} consecutive evaluations none of which beat the best value so far by more than
 * {@code minDelta}. A non-finite value (NaN, or an infinite loss) never counts as an improvement,
 * so a diverging run is not kept alive by it. Turning early stopping off is the caller's choice
 * (do not create one); this class always has a patience of at least 1.
 */
public final class EarlyStopping {
    private final String metric;
    private final boolean higherIsBetter;
    private final int patience;
    private final double minDelta;
    private double best = Double.NaN;
    private int bestIndex = -1;
    private int evaluations;
    private int sinceBest;

    /**
     * @param metric the name of the metric watched, for example {@code test_accuracy}
     * @param higherIsBetter true for accuracy-like metrics, false for losses
     * @param patience how many consecutive evaluations without improvement end training; at least 1
     * @param minDelta the amount a value must beat the best by to count as an improvement; finite, not negative
     * @throws IllegalArgumentException if {@code patience < 1} or {@code minDelta} is negative or not finite
     */
    public EarlyStopping(String metric, boolean higherIsBetter, int patience, double minDelta) {
        this.metric = Objects.requireNonNull(metric, "metric");
        if (patience < 1) {
            throw new IllegalArgumentException("early stopping patience must be at least 1, got " + patience);
        }
        if (!Double.isFinite(minDelta) || minDelta < 0) {
            throw new IllegalArgumentException("early stopping min-delta must be a finite number >= 0, got " + minDelta);
        }
        this.higherIsBetter = higherIsBetter;
        this.patience = patience;
        this.minDelta = minDelta;
    }

    /**
     * Records the metric's value at one evaluation.
     *
     * @param value the value at this evaluation
     * @return true when training should stop: this evaluation and the {@code patience - 1} before
     *     it brought no improvement; stays true for later calls until an improvement
     */
    public boolean update(double value) {
        int index = evaluations++;
        if (improves(value)) {
            best = value;
            bestIndex = index;
            sinceBest = 0;
            return false;
        }
        sinceBest++;
        return sinceBest >= patience;
    }

    private boolean improves(double value) {
        if (!Double.isFinite(value)) {
            return false;
        }
        if (bestIndex < 0) {
            return true;
        }
        return higherIsBetter ? value - best > minDelta : best - value > minDelta;
    }

    /**
     * The best value seen.
     *
     * @return the best finite value so far, or NaN before the first finite one
     */
    public double best() {
        return best;
    }

    /**
     * Which evaluation gave the best value.
     *
     * @return the 0-based index, among the calls to {@link #update}, of the best value; -1 before
     *     the first finite one
     */
    public int bestIndex() {
        return bestIndex;
    }

    /**
     * The metric watched.
     *
     * @return its name, as given to the constructor
     */
    public String metric() {
        return metric;
    }

    /**
     * Whether larger values are better.
     *
     * @return true for accuracy-like metrics, false for losses
     */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /**
     * How many evaluations in a row brought no improvement.
     *
     * @return the count since the best value (all evaluations when none was finite)
     */
    public int evaluationsSinceBest() {
        return sinceBest;
    }
}
