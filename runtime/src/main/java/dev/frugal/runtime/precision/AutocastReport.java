package dev.frugal.runtime.precision;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;

/**
 * What the {@link Autocast} pass decided: how many ops of each kind run in each dtype, and the
 * casts it inserted. {@link #lines()} is what {@code frugal plan --precision} prints.
 *
 * @param precision the precision the program was cast to
 * @param policy the table it followed (null for FP32, where no pass ran)
 * @param opsByDtype for each computing op (sources, casts and assignments left out), how many
 *     run in each dtype
 * @param casts casts the pass inserted, including the casts of outputs back to their traced types
 * @param parameterCasts the parameters among the cast values, each counted once
 */
public record AutocastReport(Precision precision, AutocastPolicy policy, SequencedMap<Op, Map<DType, Integer>> opsByDtype,
                             int casts, int parameterCasts) {

    /** The report of a program that was not cast (FP32). */
    public static AutocastReport none() {
        return new AutocastReport(Precision.FP32, null, new LinkedHashMap<>(), 0, 0);
    }

    /** How many computing ops run in {@code dtype}. */
    public int opsIn(DType dtype) {
        int n = 0;
        for (Map<DType, Integer> m : opsByDtype.values()) {
            n += m.getOrDefault(dtype, 0);
        }
        return n;
    }

    /** How many ops of kind {@code op} run in {@code dtype}. */
    public int opsIn(Op op, DType dtype) {
        Map<DType, Integer> m = opsByDtype.get(op);
        return m == null ? 0 : m.getOrDefault(dtype, 0);
    }

    /** A readable summary: the policy, totals per dtype, and each op's split across dtypes. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        if (policy == null) {
            out.add("precision fp32: no autocast, every op in f32");
            return out;
        }
        String low = precision.lowDtype().toString().toLowerCase(Locale.ROOT);
        out.add(String.format(Locale.ROOT, "autocast %s: %d ops in %s, %d in f32; %d casts inserted (%d parameters cast, each once per step)",
                precision.label(), opsIn(precision.lowDtype()), low, opsIn(DType.F32), casts, parameterCasts));
        for (String rule : policy.describe(precision)) {
            out.add("  policy: " + rule);
        }
        for (Map.Entry<Op, Map<DType, Integer>> e : opsByDtype.entrySet()) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-20s", e.getKey().printName()));
            e.getValue().forEach((t, n) -> sb.append(String.format(Locale.ROOT, " %s x%d", t.toString().toLowerCase(Locale.ROOT), n)));
            out.add(sb.toString());
        }
        return out;
    }

    /** Collects decisions while the pass runs. */
    static final class Builder {
        private final Precision precision;
        private final AutocastPolicy policy;
        private final Map<Op, Map<DType, Integer>> ops = new EnumMap<>(Op.class);
        private final Map<Value, Boolean> parametersCast = new java.util.IdentityHashMap<>();
        private int casts;

        Builder(Precision precision, AutocastPolicy policy) {
            this.precision = precision;
            this.policy = policy;
        }

        void record(Node n, DType dtype) {
            ops.computeIfAbsent(n.op(), k -> new TreeMap<>()).merge(dtype, 1, Integer::sum);
        }

        void recordCast(Value from, DType to, boolean parameter) {
            casts++;
            if (parameter) {
                parametersCast.put(from, true);
            }
        }

        AutocastReport build() {
            SequencedMap<Op, Map<DType, Integer>> ordered = new LinkedHashMap<>();
            ops.forEach((op, m) -> ordered.put(op, Collections.unmodifiableMap(m)));
            return new AutocastReport(precision, policy, Collections.unmodifiableSequencedMap(ordered), casts, parametersCast.size());
        }
    }
}
