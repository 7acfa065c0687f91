package dev.frugal.trainer.schedule;

/**
 * The one-cycle policy exactly as PyTorch's {@code OneCycleLR} with {@code anneal_strategy='cos'}
 * and {@code three_phase=False}: a cosine rise from {@code maxLr / div} to {@code maxLr} that ends
 * at step {@code pct * totalSteps - 1}, then a cosine fall to {@code maxLr / div / finalDiv} at
 * step {@code totalSteps - 1}. Steps past the end keep the final rate (PyTorch raises there
 * instead). Momentum cycling is not part of a learning-rate schedule and is left out.
 */
public final class OneCycleSchedule implements LrSchedule {
    /** PyTorch's default {@code pct_start}. */
    public static final double DEFAULT_PCT = 0.3;
    /** PyTorch's default {@code div_factor}. */
    public static final double DEFAULT_DIV = 25.0;
    /** PyTorch's default {@code final_div_factor}. */
    public static final double DEFAULT_FINAL_DIV = 1e4;

    private final double maxLr;
    private final long totalSteps;
    private final double pct;
    private final double div;
    private final double finalDiv;
    private final double initialLr;
    private final double finalLr;
    private final double peakStep;

    /**
     * @param maxLr the peak learning rate; finite and not negative
     * @param totalSteps the planned number of optimizer steps; positive
     * @param pct the fraction of steps spent rising; {@code 0 < pct < 1}
     * @param div {@code maxLr / div} is the starting rate; positive
     * @param finalDiv the final rate is the starting rate divided by this; positive
     * @throws IllegalArgumentException if a parameter is out of range
     */
    public OneCycleSchedule(double maxLr, long totalSteps, double pct, double div, double finalDiv) {
        this.maxLr = Schedules.checkRate("lr", maxLr);
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("one-cycle needs a known positive number of total steps, got " + totalSteps);
        }
        if (!(pct > 0 && pct < 1)) {
            throw new IllegalArgumentException("one-cycle: pct must be strictly between 0 and 1, got " + pct);
        }
        if (!Double.isFinite(div) || div <= 0) {
            throw new IllegalArgumentException("one-cycle: div must be a finite number > 0, got " + div);
        }
        if (!Double.isFinite(finalDiv) || finalDiv <= 0) {
            throw new IllegalArgumentException("one-cycle: final-div must be a finite number > 0, got " + finalDiv);
        }
        this.totalSteps = totalSteps;
        this.pct = pct;
        this.div = div;
        this.finalDiv = finalDiv;
        this.initialLr = maxLr / div;
        this.finalLr = initialLr / finalDiv;
        // PyTorch's phase boundary, a float on purpose: pct * total is rarely a whole number
        this.peakStep = pct * totalSteps - 1;
    }

    /**
     * The schedule with PyTorch's defaults (pct 0.3, div 25, final-div 1e4).
     *
     * @param maxLr the peak learning rate
     * @param totalSteps the planned number of optimizer steps
     * @throws IllegalArgumentException if a parameter is out of range
     */
    public OneCycleSchedule(double maxLr, long totalSteps) {
        this(maxLr, totalSteps, DEFAULT_PCT, DEFAULT_DIV, DEFAULT_FINAL_DIV);
    }

    /** {@inheritDoc} */
    @Override
    public double lr(long step) {
        Schedules.checkStep(step);
        long last = totalSteps - 1;
        if (step >= last) {
            return finalLr;
        }
        if (step <= peakStep) {
            return anneal(initialLr, maxLr, fraction(step, 0, peakStep));
        }
        return anneal(maxLr, finalLr, fraction(step, peakStep, last));
    }

    /** Where {@code step} lies in {@code [start, end]}; a phase of zero length counts as done. */
    private static double fraction(long step, double start, double end) {
        return end == start ? 1.0 : (step - start) / (end - start);
    }

    /** PyTorch's {@code _annealing_cos}, written the same way so the roundings agree. */
    private static double anneal(double start, double end, double pct) {
        double cosOut = Math.cos(Math.PI * pct) + 1;
        return end + (start - end) / 2.0 * cosOut;
    }

    /** {@inheritDoc} */
    @Override
    public String describe() {
        return "one-cycle(max=" + Schedules.num(maxLr) + ", total=" + totalSteps + ", pct=" + Schedules.num(pct)
            + ", div=" + Schedules.num(div) + ", final-div=" + Schedules.num(finalDiv) + ")";
    }
}
