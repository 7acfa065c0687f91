package dev.frugal.trainer.budget;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the trainer may do, in the configured order, when a budget is projected to run out.
 * Each helps some budgets only: evaluating less often saves time and energy; checkpointing
 * (recomputing activations, chosen by the memory planner) and a smaller batch save memory; stopping
 * gracefully (a final evaluation and checkpoint while the budget still allows them) ends any.
 */
public enum Guardrail {
    /** Evaluate half as often (time, energy). */
    EVALUATE_LESS("evaluate-less"),
    /** Recompute activations in the backward pass so the step fits the memory budget (memory). */
    CHECKPOINT("checkpoint"),
    /** Halve the batch and scale the learning rate with it until the step fits (memory). */
    SHRINK_BATCH("shrink-batch"),
    /** End with a final evaluation and checkpoint before the budget is spent (any). */
    STOP("stop");

    /** The default order: the issue's, cheapest concession first. */
    public static final List<Guardrail> DEFAULT = List.of(EVALUATE_LESS, CHECKPOINT, SHRINK_BATCH, STOP);

    private final String label;

    Guardrail(String label) {
        this.label = label;
    }

    /** The name in options and logs, e.g. {@code evaluate-less}. */
    public String label() {
        return label;
    }

    /**
     * Parses a comma list such as {@code evaluate-less,stop}; {@code none} for no guardrail (a
     * run that would overrun is then still stopped, since budgets are hard).
     *
     * @throws IllegalArgumentException naming the unknown entry and the valid ones
     */
    public static List<Guardrail> parseList(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none")) {
            return List.of();
        }
        List<Guardrail> out = new ArrayList<>();
        for (String part : t.split(",")) {
            String p = part.strip();
            Guardrail g = Arrays.stream(values()).filter(v -> v.label.equals(p)).findFirst().orElseThrow(() ->
                    new IllegalArgumentException("guardrails: unknown guardrail '" + p + "'; valid: evaluate-less, checkpoint, shrink-batch, stop, or none"));
            if (out.contains(g)) {
                throw new IllegalArgumentException("guardrails: '" + p + "' is listed twice");
            }
            out.add(g);
        }
        return List.copyOf(out);
    }
}
