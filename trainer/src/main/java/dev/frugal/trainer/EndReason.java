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
    NON_FINITE_LOSS("non-finite-loss"),
    /** The time budget would have been passed by another step. */
    BUDGET_TIME("budget-time"),
    /** The energy budget would have been passed by another step. */
    BUDGET_ENERGY("budget-energy"),
    /** The memory budget ended the run (it is settled before the first step, so only there). */
    BUDGET_MEMORY("budget-memory"),
    /** The step budget is used up. */
    BUDGET_STEPS("budget-steps");

    private final String label;

    EndReason(String label) {
        this.label = label;
    }

    /** The reason whose {@link #label()} is {@code label}. */
    public static EndReason ofLabel(String label) {
        for (EndReason r : values()) {
            if (r.label.equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("no end reason labelled '" + label + "'");
    }

    /** The name used in run files, e.g. {@code non-finite-loss}. */
    public String label() {
        return label;
    }
}
