package dev.frugal.trainer.prune;

import dev.frugal.trainer.config.KeyValueSpec;
import java.util.Locale;
import java.util.Set;

/**
 * What {@code --prune} asks for: the method, the final sparsity and when to reach it.
 *
 * <pre>
 * magnitude:SPARSITY[,scope=global|layer][,schedule=...]   zero the smallest weights of convolutions and linear layers
 * structured:SPARSITY[,norm=l1|l2][,schedule=...]          remove that share of each layer's channels (filters, units)
 *
 * schedule=cubic[,start=10%][,end=60%][,every=N]   gradual: sparsity s(t) = S (1 - (1 - p)^3), p the share of [start, end] done
 * schedule=once[,at=50%]                           all at once, then the rest of the run fine-tunes the pruned network
 * </pre>
 *
 * Points of the run ({@code start}, {@code end}, {@code at}) are shares of its optimizer steps,
 * written {@code 60%} or {@code 0.6}; {@code every} is in steps (by default the ramp takes 20
 * increments). Magnitude pruning ranks weights over all layers together ({@code scope=global},
 * the default) or within each layer; structured pruning ranks each layer's channels by the L1
 * (default) or L2 norm of their filters.
 *
 * @param method   magnitude (unstructured) or structured (channels)
 * @param sparsity the share of weights (magnitude) or of each group's channels (structured) removed at the end, in [0, 1)
 * @param scope    magnitude only: rank weights globally or per layer
 * @param norm     structured only: the filter norm that ranks channels
 * @param schedule gradual (cubic) or once
 * @param start    cubic: the share of the run where pruning starts
 * @param end      cubic: the share of the run where the final sparsity is reached
 * @param at       once: the share of the run where the network is pruned
 * @param every    cubic: steps between mask updates; 0 for 20 increments over the ramp
 */
public record PruningSpec(Method method, double sparsity, Scope scope, Norm norm, Schedule schedule,
                          double start, double end, double at, long every) {
    /** How weights are chosen. */
    public enum Method { MAGNITUDE, STRUCTURED }

    /** Where magnitude pruning ranks weights. */
    public enum Scope { GLOBAL, LAYER }

    /** The norm of a channel's filter weights. */
    public enum Norm { L1, L2 }

    /** When pruning happens. */
    public enum Schedule { CUBIC, ONCE }

    static final String USAGE = "expected magnitude:SPARSITY[,scope=global|layer] or structured:SPARSITY[,norm=l1|l2], then "
            + "[,schedule=cubic[,start=10%][,end=60%][,every=STEPS]] or [,schedule=once[,at=50%]], SPARSITY in [0, 1)";

    /** Checks ranges and that each option belongs to the method and schedule. */
    public PruningSpec {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new IllegalArgumentException("--prune: sparsity " + sparsity + " is outside [0, 1) (it is the share of weights or channels removed)");
        }
        checkShare("start", start);
        checkShare("end", end);
        checkShare("at", at);
        if (end < start) {
            throw new IllegalArgumentException("--prune: end " + end + " is before start " + start);
        }
        if (every < 0) {
            throw new IllegalArgumentException("--prune: every " + every + ", expected a positive number of steps");
        }
    }

    /**
     * Parses the text of {@code --prune}.
     *
     * @throws IllegalArgumentException naming the part that is wrong and giving the valid form
     */
    public static PruningSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("--prune: empty; " + USAGE);
        }
        String[] nameAndRest = KeyValueSpec.nameAndOptions(text);
        Method method = switch (nameAndRest[0].toLowerCase(Locale.ROOT)) {
            case "magnitude" -> Method.MAGNITUDE;
            case "structured" -> Method.STRUCTURED;
            default -> throw new IllegalArgumentException("--prune: unknown method '" + nameAndRest[0] + "'; " + USAGE);
        };
        String rest = nameAndRest[1].strip();
        int comma = rest.indexOf(',');
        String sparsityText = (comma < 0 ? rest : rest.substring(0, comma)).strip();
        if (sparsityText.isEmpty()) {
            throw new IllegalArgumentException("--prune " + text + ": no sparsity; " + USAGE);
        }
        double sparsity;
        try {
            sparsity = Double.parseDouble(sparsityText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--prune " + text + ": sparsity '" + sparsityText + "' is not a number; " + USAGE);
        }
        Set<String> keys = method == Method.MAGNITUDE
                ? Set.of("scope", "schedule", "start", "end", "at", "every")
                : Set.of("norm", "schedule", "start", "end", "at", "every");
        KeyValueSpec kv = KeyValueSpec.parse("--prune " + nameAndRest[0], comma < 0 ? "" : rest.substring(comma + 1), keys, USAGE);
        Schedule schedule = switch (kv.text("schedule", "cubic").toLowerCase(Locale.ROOT)) {
            case "cubic" -> Schedule.CUBIC;
            case "once" -> Schedule.ONCE;
            default -> throw new IllegalArgumentException("--prune: unknown schedule '" + kv.text("schedule") + "'; " + USAGE);
        };
        if (schedule == Schedule.ONCE && (kv.has("start") || kv.has("end") || kv.has("every"))) {
            throw new IllegalArgumentException("--prune: start, end and every belong to schedule=cubic; schedule=once takes at=");
        }
        if (schedule == Schedule.CUBIC && kv.has("at")) {
            throw new IllegalArgumentException("--prune: at belongs to schedule=once; schedule=cubic takes start=, end= and every=");
        }
        Scope scope = switch (kv.text("scope", "global").toLowerCase(Locale.ROOT)) {
            case "global" -> Scope.GLOBAL;
            case "layer" -> Scope.LAYER;
            default -> throw new IllegalArgumentException("--prune: unknown scope '" + kv.text("scope") + "', expected global or layer");
        };
        Norm norm = switch (kv.text("norm", "l1").toLowerCase(Locale.ROOT)) {
            case "l1" -> Norm.L1;
            case "l2" -> Norm.L2;
            default -> throw new IllegalArgumentException("--prune: unknown norm '" + kv.text("norm") + "', expected l1 or l2");
        };
        return new PruningSpec(method, sparsity, scope, norm, schedule, share(kv, "start", 0.1), share(kv, "end", 0.6),
                share(kv, "at", 0.5), kv.whole("every", 0L, "steps"));
    }

    /** The canonical text, every option spelled out, as {@link #parse} reads it back. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(method.name().toLowerCase(Locale.ROOT)).append(':').append(sparsity);
        b.append(method == Method.MAGNITUDE ? ",scope=" + scope.name().toLowerCase(Locale.ROOT) : ",norm=" + norm.name().toLowerCase(Locale.ROOT));
        if (schedule == Schedule.CUBIC) {
            b.append(",schedule=cubic,start=").append(start).append(",end=").append(end);
            if (every > 0) {
                b.append(",every=").append(every);
            }
        } else {
            b.append(",schedule=once,at=").append(at);
        }
        return b.toString();
    }

    private static double share(KeyValueSpec kv, String key, double fallback) {
        String t = kv.text(key);
        if (t == null) {
            return fallback;
        }
        try {
            return t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1).strip()) / 100 : Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--prune: " + key + " must be a share of the run such as 60% or 0.6, got '" + t + "'");
        }
    }

    private static void checkShare(String key, double v) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException("--prune: " + key + " " + v + " is outside [0, 1] (a share of the run's steps)");
        }
    }
}
