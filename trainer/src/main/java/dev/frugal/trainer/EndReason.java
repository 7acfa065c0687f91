package dev.frugal.trainer;

/** Why a {@link Trainer#fit} ended; {@link #label()} is what {@code summary.json} records as {@code ended_by}. */
public enum EndReason {
    /** Every requested epoch ran. */
    EPOCHS("epochs"),
    /** The step limit was reached. */
    STEPS("steps"),
    /** The watched metric stopped improving for {@code patience} evaluations. */
    EARLY_STOPPING("early-stopping"),
    /** A step produced a NaN or infinite loss (or gradient reduction). */
    NON_FINITE_LOSS("non-finite-loss");

    private final String label;

    EndReason(String label) {
        this.label = label;
    }

    /** The name used in run files, e.g. {@code non-finite-loss}. */
    public String label() {
        return label;
    }
}
