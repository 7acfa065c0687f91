package dev.frugal.trainer.schedule;

/**
 * A learning-rate schedule: the learning rate for each optimizer step. Implementations are pure
 * and stateless, so a resumed run gets the same rate for the same step without restoring any
 * scheduler state.
 */
public interface LrSchedule {
    /**
     * The learning rate to use for the optimizer update number {@code step}.
     *
     * @param step the optimizer step, counted from 0; must not be negative
     * @return the learning rate, finite and not negative
     * @throws IllegalArgumentException if {@code step} is negative
     */
    double lr(long step);

    /**
     * A one-line human-readable description with every parameter, for logs and the run directory.
     *
     * @return for example {@code step(base=0.05, every=1000, gamma=0.1)}
     */
    String describe();
}
