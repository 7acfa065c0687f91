package dev.frugal.trainer.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.memory.ByteFormat;
import dev.frugal.trainer.budget.BudgetUnits;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The summary table of a run, as label and plain-text value, in page order; a row whose data the
 * run does not have is left out (a comparison shows a dash there).
 */
final class Summary {
    private Summary() {
    }

    /**
     * The rows for a run.
     *
     * @param run the run
     * @return label to value, in display order
     */
    static Map<String, String> rows(RunData run) {
        ObjectNode s = run.summary();
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("Model", run.model());
        number(s, "parameters").ifPresent(p -> rows.put("Parameters", String.format(Locale.ROOT, "%,d", (long) p)));
        text(s, "device", rows, "Device");
        OptionalDouble steps = number(s, "steps");
        if (steps.isEmpty()) {
            steps = run.total("step");
        }
        OptionalDouble epochs = number(s, "epochs");
        if (steps.isPresent() || epochs.isPresent()) {
            List<String> parts = new ArrayList<>();
            steps.ifPresent(v -> parts.add(whole(v) + (v == 1 ? " step" : " steps")));
            epochs.ifPresent(v -> parts.add(whole(v) + (v == 1 ? " epoch" : " epochs")));
            rows.put("Steps / epochs", String.join(", ", parts));
        }
        String endedBy = s.path("ended_by").asText("");
        String message = s.path("message").asText("");
        if (!endedBy.isEmpty() || !message.isEmpty()) {
            rows.put("Ended by", endedBy.isEmpty() ? message : message.isEmpty() ? endedBy : endedBy + ": " + message);
        }
        String budgets = budgets(s);
        if (budgets != null) {
            rows.put("Budgets", budgets);
        }
        OptionalDouble best = run.bestAccuracy();
        best.ifPresent(a -> rows.put("Best test accuracy", percent(a) + bestStep(run, a)));
        run.finalAccuracy().ifPresent(a -> rows.put("Final test accuracy", percent(a)));
        number(s, "test_loss").ifPresent(l -> rows.put("Final test loss", String.format(Locale.ROOT, "%.4f", l)));
        number(s, "val_loss").ifPresent(l -> rows.put("Final validation loss", String.format(Locale.ROOT, "%.4f nats per token", l)));
        number(s, "best_val_loss").ifPresent(l -> rows.put("Best validation loss", String.format(Locale.ROOT, "%.4f nats per token", l)));
        run.total("wall_seconds").ifPresent(t -> rows.put("Wall time", BudgetUnits.formatDuration(t)));
        number(s, "train_seconds").ifPresent(t -> rows.put("Training time", BudgetUnits.formatDuration(t)));
        run.total("device_seconds").ifPresent(t -> rows.put("Device time", BudgetUnits.formatDuration(t)));
        OptionalDouble energy = run.total("energy_joules");
        if (energy.isPresent()) {
            String source = s.path("energy_source").asText("");
            rows.put("Energy", BudgetUnits.formatEnergy(energy.getAsDouble()) + (source.isEmpty() ? "" : ", from " + source));
            if (best.isPresent() && best.getAsDouble() > 0) {
                double perPoint = energy.getAsDouble() / (100 * best.getAsDouble());
                rows.put("Energy per accuracy point", BudgetUnits.formatEnergy(perPoint) + " per percentage point of best test accuracy");
            }
        }
        number(s, "samples_per_second").ifPresent(v -> rows.put("Samples per second", String.format(Locale.ROOT, "%.1f", v)
            + number(s, "step_samples_per_second").stream().mapToObj(t -> String.format(Locale.ROOT, " (%.1f in training steps alone)", t))
                .findFirst().orElse("")));
        number(s, "tokens_per_second").ifPresent(v -> rows.put("Tokens per second", String.format(Locale.ROOT, "%.1f", v)));
        number(s, "flops_utilisation").ifPresent(u -> rows.put("FLOP utilisation", percent(u) + " of peak"));
        run.peak("peak_device_bytes").ifPresent(b -> rows.put("Peak device memory", ByteFormat.format((long) b)));
        run.peak("peak_host_bytes").ifPresent(b -> rows.put("Peak host memory", ByteFormat.format((long) b)));
        number(s, "predicted_peak_bytes").ifPresent(b -> rows.put("Predicted peak memory", ByteFormat.format((long) b)));
        number(s, "memory_budget_bytes").ifPresent(b -> rows.put("Memory budget", ByteFormat.format((long) b)));
        number(s, "recompute_flops_ratio").ifPresent(r -> rows.put("Recompute FLOPs ratio", String.format(Locale.ROOT, "%.3fx", r)));
        if (!run.guardrails().isEmpty()) {
            rows.put("Guardrail actions", Integer.toString(run.guardrails().size()));
        }
        text(s, "last_checkpoint", rows, "Last checkpoint");
        return rows;
    }

    /**
     * The budgets that were set, each with the fraction used when the summary says it: e.g.
     * {@code "time 2m0s (98% used); steps 500"}. The fractions are read from {@code budgets.use} or
     * a top-level {@code budget_use}, keyed by the budget's name ({@code time}, {@code energy},
     * {@code memory}, {@code steps}).
     *
     * @return the text, {@code "none"} when no budget was set, or null when the summary has no budgets
     */
    static String budgets(ObjectNode summary) {
        JsonNode budgets = summary.get("budgets");
        if (budgets == null || !budgets.isObject()) {
            return null;
        }
        JsonNode use = budgets.has("use") ? budgets.get("use") : summary.path("budget_use");
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : budgets.properties()) {
            String key = e.getKey();
            JsonNode value = e.getValue();
            if (key.equals("use") || value == null || !value.isNumber()) {
                continue;
            }
            int underscore = key.indexOf('_');
            String name = underscore < 0 ? key : key.substring(0, underscore);
            double v = value.asDouble();
            String amount = key.endsWith("_seconds") ? BudgetUnits.formatDuration(v)
                : key.endsWith("_joules") ? BudgetUnits.formatEnergy(v)
                : key.endsWith("_bytes") ? ByteFormat.format((long) v)
                : whole(v);
            OptionalDouble used = use == null ? OptionalDouble.empty() : number(use, name);
            parts.add(name + " " + amount + (used.isPresent() ? " (" + String.format(Locale.ROOT, "%.0f%%", 100 * used.getAsDouble()) + " used)" : ""));
        }
        return parts.isEmpty() ? "none" : String.join("; ", parts);
    }

    private static String bestStep(RunData run, double best) {
        for (ObjectNode e : run.evals()) {
            OptionalDouble a = RunData.number(e, "test_accuracy");
            OptionalDouble step = RunData.number(e, "step");
            if (a.isPresent() && a.getAsDouble() == best && step.isPresent()) {
                return " (step " + whole(step.getAsDouble()) + ")";
            }
        }
        return "";
    }

    private static OptionalDouble number(JsonNode node, String field) {
        return node.isObject() ? RunData.number(node, field) : OptionalDouble.empty();
    }

    private static void text(ObjectNode summary, String field, Map<String, String> rows, String label) {
        JsonNode v = summary.get(field);
        if (v != null && !v.isNull() && !v.asText("").isEmpty()) {
            rows.put(label, v.asText());
        }
    }

    private static String whole(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }
}
