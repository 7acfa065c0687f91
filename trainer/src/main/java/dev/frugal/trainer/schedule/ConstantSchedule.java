package dev.frugal.trainer.schedule;

/** The same learning rate at every step. */
public final class ConstantSchedule implements LrSchedule {
    private final double lr;

    /**
     * @param lr the learning rate; finite and not negative
     * @throws IllegalArgumentException if {@code lr} is negative or not finite
     */
    public ConstantSchedule(double lr) {
        this.lr = Schedules.checkRate("lr", lr);
    }

    /** {@inheritDoc} */
    @Override
    public double lr(long step) {
        Schedules.checkStep(step);
        return lr;
    }

    /** {@inheritDoc} */
    @Override
    public String describe() {
        return "constant(lr=" + Schedules.num(lr) + ")";
    }
}
