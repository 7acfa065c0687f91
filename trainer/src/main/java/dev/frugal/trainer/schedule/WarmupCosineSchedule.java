package dev.frugal.trainer.schedule;

/**
 * Linear warmup from 0 to the base rate, then a cosine decay to {@code minLr}: the schedule of
 * Hugging Face's {@code get_cosine_schedule_with_warmup} with a floor, equal to PyTorch's
 * {@code CosineAnnealingLR(T_max=totalSteps-warmup, eta_min=minLr)} after the warmup.
 *
 * <ul>
 *   <li>{@code step < warmup}: {@code base * step / warmup} (step 0 has rate 0, as in the
 *       reference, so the first update is a no-op for plain SGD);</li>
 *   <li>{@code warmup <= step < totalSteps}: {@code minLr + (base - minLr) * (1 + cos(pi * p)) / 2}
 *       with {@code p = (step - warmup) / (totalSteps - warmup)};</li>
 *   <li>{@code step >= totalSteps}: {@code minLr}, so a run that overshoots its planned length
 *       keeps a sane rate instead of climbing back up the cosine.</li>
 * </ul>
 */
public final class WarmupCosineSchedule implements LrSchedule {
    private final double baseLr;
    private final long warmup;
    private final long totalSteps;
    private final double minLr;

    /**
     * @param baseLr the peak learning rate, reached at step {@code warmup}; finite and not negative
     * @param warmup warmup steps; {@code 0 <= warmup < totalSteps}
     * @param totalSteps the planned number of optimizer steps; positive
     * @param minLr the rate at the end; finite, {@code 0 <= minLr <= baseLr}
     * @throws IllegalArgumentException if a parameter is out of range
     */
    public WarmupCosineSchedule(double baseLr, long warmup, long totalSteps, double minLr) {
        this.baseLr = Schedules.checkRate("lr", baseLr);
        this.minLr = Schedules.checkRate("warmup-cosine: min", minLr);
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("warmup-cosine needs a known positive number of total steps, got " + totalSteps);
        }
        if (warmup < 0 || warmup >= totalSteps) {
            throw new IllegalArgumentException(
                "warmup-cosine: warmup must be between 0 and total steps - 1 (" + (totalSteps - 1) + "), got " + warmup);
        }
        if (minLr > baseLr) {
            throw new IllegalArgumentException(
                "warmup-cosine: min (" + minLr + ") must not exceed the learning rate (" + baseLr + ")");
        }
        this.warmup = warmup;
        this.totalSteps = totalSteps;
    }

    /**
     * The same schedule decaying to 0.
     *
     * @param baseLr the peak learning rate
     * @param warmup warmup steps
     * @param totalSteps the planned number of optimizer steps
     * @throws IllegalArgumentException if a parameter is out of range
     */
    public WarmupCosineSchedule(double baseLr, long warmup, long totalSteps) {
        this(baseLr, warmup, totalSteps, 0.0);
    }

    /** {@inheritDoc} */
    @Override
    public double lr(long step) {
        Schedules.checkStep(step);
        if (step < warmup) {
            return baseLr * step / warmup;
        }
        if (step >= totalSteps) {
            return minLr;
        }
        double progress = (double) (step - warmup) / (totalSteps - warmup);
        return minLr + (baseLr - minLr) * (1 + Math.cos(Math.PI * progress)) / 2;
    }

    /** {@inheritDoc} */
    @Override
    public String describe() {
        return "warmup-cosine(base=" + Schedules.num(baseLr) + ", warmup=" + warmup + ", total=" + totalSteps
            + ", min=" + Schedules.num(minLr) + ")";
    }
}
