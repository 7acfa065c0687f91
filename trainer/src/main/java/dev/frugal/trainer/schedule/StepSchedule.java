package dev.frugal.trainer.schedule;

/**
 * Multiplies the learning rate by {@code gamma} every {@code every} steps, as PyTorch's
 * {@code StepLR(step_size=every, gamma=gamma)} stepped once per optimizer step:
 * {@code lr(step) = base * gamma^floor(step / every)}.
 */
public final class StepSchedule implements LrSchedule {
    private final double baseLr;
    private final long every;
    private final double gamma;

    /**
     * @param baseLr the learning rate of steps {@code 0 .. every-1}; finite and not negative
     * @param every how many steps between decays; positive
     * @param gamma the factor applied at each decay; finite and positive
     * @throws IllegalArgumentException if a parameter is out of range
     */
    public StepSchedule(double baseLr, long every, double gamma) {
        this.baseLr = Schedules.checkRate("lr", baseLr);
        if (every <= 0) {
            throw new IllegalArgumentException("step schedule: every must be a positive number of steps, got " + every);
        }
        if (!Double.isFinite(gamma) || gamma <= 0) {
            throw new IllegalArgumentException("step schedule: gamma must be a finite number > 0, got " + gamma);
        }
        this.every = every;
        this.gamma = gamma;
    }

    /** {@inheritDoc} */
    @Override
    public double lr(long step) {
        Schedules.checkStep(step);
        return baseLr * Math.pow(gamma, (double) (step / every));
    }

    /** {@inheritDoc} */
    @Override
    public String describe() {
        return "step(base=" + Schedules.num(baseLr) + ", every=" + every + ", gamma=" + Schedules.num(gamma) + ")";
    }
}
