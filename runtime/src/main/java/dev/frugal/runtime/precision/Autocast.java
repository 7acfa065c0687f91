package dev.frugal.runtime.precision;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The autocast pass: rewrites a whole program (forward, backward and optimizer update) into a new
 * graph in which every node runs in the dtype {@link AutocastPolicy} gives it, with the casts
 * between them inserted here, never by layers.
 *
 * <p>It runs after autodiff, so gradient nodes get their dtypes by the same rules as forward ones
 * (a weight gradient from a half-precision matmul is half precision, and is widened where the
 * float32 optimizer reads it). Inputs keep their dtypes (master weights and optimizer state stay
 * float32; the pass only adds casts after them), assignments store in their target's dtype, and
 * the program's outputs are cast back to the dtypes they were traced with, so a caller sees the
 * same types with or without autocast. A weight read by the forward matmul and by the backward
 * one is rounded once per step ({@link #castTo} says which casts are shared).
 *
 * <p>Only the nodes the outputs and assignments need are rewritten. Scopes and call sites are
 * kept, so listings and errors still point at the traced line.
 */
public final class Autocast {
    private final Graph source;
    private final Precision precision;
    private final AutocastPolicy policy;
    private final DType low;
    private final Graph target;
    private final Map<Value, Value> map = new IdentityHashMap<>();
    private final Map<Value, EnumMap<DType, Value>> casts = new IdentityHashMap<>();
    private final Map<Value, List<Node>> readers = new IdentityHashMap<>();
    private final AutocastReport.Builder report;

    private Autocast(Graph source, Precision precision, AutocastPolicy policy) {
        this.source = source;
        this.precision = precision;
        this.policy = policy;
        this.low = precision.lowDtype();
        this.target = new Graph(source.name());
        this.report = new AutocastReport.Builder(precision, policy);
    }

    /**
     * Rewrites the part of {@code graph} that computes {@code outputs} and performs its
     * assignments.
     *
     * @param graph the traced program (left unchanged)
     * @param outputs the values the program returns
     * @param precision FP16 or BF16 (FP32 returns an identity result over the same graph)
     * @param policy which op runs in which dtype
     * @return the new graph, the value map and what the pass decided
     */
    public static AutocastResult apply(Graph graph, List<Value> outputs, Precision precision, AutocastPolicy policy) {
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(policy, "policy");
        for (Value v : outputs) {
            if (v.graph() != graph) {
                throw new IllegalArgumentException("output " + v + " belongs to graph '" + v.graph().name() + "', not '" + graph.name() + "'");
            }
        }
        if (!precision.isMixed()) {
            Map<Value, Value> identity = new IdentityHashMap<>();
            for (Node n : graph.liveNodes(outputs)) {
                if (n.output() != null) {
                    identity.put(n.output(), n.output());
                }
            }
            return new AutocastResult(graph, List.copyOf(outputs), identity, AutocastReport.none());
        }
        return new Autocast(graph, precision, policy).run(outputs);
    }

    private AutocastResult run(List<Value> outputs) {
        List<Node> live = source.liveNodes(outputs);
        for (Node n : live) {
            for (Value in : n.inputs()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        for (Node n : live) {
            rewrite(n);
        }
        List<Value> newOutputs = new ArrayList<>();
        for (Value out : outputs) {
            newOutputs.add(castTo(map.get(out), out.dtype(), out.node()));
        }
        return new AutocastResult(target, List.copyOf(newOutputs), map, report.build());
    }

    private void rewrite(Node n) {
        switch (n.op()) {
            case INPUT -> map.put(n.output(), target.inputLike(n.output()));
            case ASSIGN -> {
                // the target is the input itself: never cast; the value is stored in its dtype
                Value dest = map.get(n.input(0));
                target.addDerived(n, List.of(dest, castTo(map.get(n.input(1)), dest.dtype(), n)), n.input(1).shape(), dest.dtype());
            }
            case CAST -> map.put(n.output(), castTo(map.get(n.input(0)), n.output().dtype(), n));
            case CONSTANT, IOTA, RANDOM_UNIFORM -> map.put(n.output(), derived(n, mapped(n.inputs()), n.output().dtype()));
            default -> map.put(n.output(), compute(n));
        }
    }

    /** A computing node: picks its dtype, casts its floating inputs to it, and re-emits it. */
    private Value compute(Node n) {
        List<Value> inputs = mapped(n.inputs());
        DType original = n.output().dtype();
        boolean anyFloating = original.isFloating();
        for (Value in : n.inputs()) {
            anyFloating |= in.dtype().isFloating();
        }
        if (!anyFloating) {
            return derived(n, inputs, original); // integer and boolean work is untouched
        }
        DType t = computeDtype(n, inputs);
        List<Value> cast = new ArrayList<>(inputs.size());
        for (Value in : inputs) {
            boolean readAsIs = !in.dtype().isFloating()
                    || (readsHalfIntoFloat32(n.op()) && t == DType.F32 && isLow(in.dtype())); // accumulates in f32, no widened copy
            cast.add(readAsIs ? in : castTo(in, t, n));
        }
        DType out = original.isFloating() ? t : original;
        report.record(n, out);
        return derived(n, cast, out);
    }

    private DType computeDtype(Node n, List<Value> inputs) {
        DType widestIn = null;
        boolean anyLow = false;
        boolean anyWide = false;
        for (Value in : inputs) {
            if (in.dtype().isFloating()) {
                widestIn = widest(widestIn, in.dtype());
                anyLow |= isLow(in.dtype());
                anyWide |= !isLow(in.dtype());
            }
        }
        DType traced = n.output().dtype().isFloating() ? n.output().dtype() : widestFloatingInput(n);
        if (traced != DType.F32) {
            // float64 reference work, or half precision the user asked for explicitly: as traced
            return traced == null ? widestIn : traced;
        }
        return switch (policy.ruleFor(n)) {
            case LOW -> low;
            case FP32 -> widest(DType.F32, widestIn);
            case FOLLOW -> {
                if (widestIn == null) {
                    yield DType.F32;
                }
                if (readOnlyBySums(n)) {
                    yield widest(DType.F32, widestIn);
                }
                if (anyLow && anyWide) {
                    yield lowActivationWins(n, inputs) ? low : widestIn;
                }
                yield widestIn;
            }
        };
    }

    /**
     * Reductions, and the hand-fused row ops that accumulate in float32, that read a
     * half-precision input as it is and write float32 (backends support this mix).
     */
    private static boolean readsHalfIntoFloat32(Op op) {
        return op == Op.REDUCE_SUM || op == Op.REDUCE_MAX || op == Op.REDUCE_MIN
                || op == Op.SOFTMAX_CROSS_ENTROPY || op == Op.SOFTMAX_CROSS_ENTROPY_GRAD || op == Op.LAYER_NORM_WEIGHT_GRAD;
    }

    /** The widest floating type among the traced inputs, or null when none is floating. */
    private static DType widestFloatingInput(Node n) {
        DType w = null;
        for (Value in : n.inputs()) {
            if (in.dtype().isFloating()) {
                w = widest(w, in.dtype());
            }
        }
        return w;
    }

    /**
     * True when a low-precision input has the output's full size and every wider input is smaller
     * or broadcast into it: a bias, a per-channel statistic, a scalar, the expanded gradient of a
     * mean.
     */
    private boolean lowActivationWins(Node n, List<Value> inputs) {
        long size = n.output().shape().numel();
        boolean fullLow = false;
        for (Value in : inputs) {
            if (!in.dtype().isFloating()) {
                continue;
            }
            if (isLow(in.dtype())) {
                fullLow |= distinctElements(in) == size;
            } else if (distinctElements(in) >= size) {
                return false;
            }
        }
        return fullLow;
    }

    /**
     * How many distinct elements {@code v} holds: an expanded value (the gradient of a sum or a
     * mean is one) has only as many as what was expanded, however large its shape.
     */
    private static long distinctElements(Value v) {
        Node n = v.node();
        while (n.op() == Op.EXPAND || n.op() == Op.CAST) {
            n = n.input(0).node();
        }
        return Math.min(v.shape().numel(), n.output().shape().numel());
    }

    /** An elementwise node all of whose readers are sums: its value exists only to be accumulated. */
    private boolean readOnlyBySums(Node n) {
        if (!n.op().isElementwise()) {
            return false;
        }
        List<Node> rs = readers.get(n.output());
        if (rs == null || rs.isEmpty()) {
            return false;
        }
        for (Node r : rs) {
            if (r.op() != Op.REDUCE_SUM) {
                return false;
            }
        }
        return true;
    }

    private boolean isLow(DType t) {
        return t == DType.F16 || t == DType.BF16;
    }

    private static DType widest(DType a, DType b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return rank(a) >= rank(b) ? a : b;
    }

    private static int rank(DType t) {
        return switch (t) {
            case F64 -> 3;
            case F32 -> 2;
            default -> 1;
        };
    }

    private Value derived(Node n, List<Value> inputs, DType dtype) {
        return target.addDerived(n, inputs, n.output().shape(), dtype);
    }

    private List<Value> mapped(List<Value> inputs) {
        List<Value> out = new ArrayList<>(inputs.size());
        for (Value in : inputs) {
            out.add(Objects.requireNonNull(map.get(in), () -> "autocast: " + in + " was not rewritten before its reader"));
        }
        return out;
    }

    /**
     * {@code v} in dtype {@code t}, for {@code reader}. A narrowing cast, and any cast of an input,
     * is made once and shared by every reader: a weight is rounded once per step, and an
     * activation that a forward and a backward contraction both read is kept in the narrow type
     * between them rather than in the wide one. A widening cast of a computed value is made per
     * reader: it fuses into the reader's elementwise pass, so the wide copy is never stored and
     * cannot outlive the reader (sharing it would keep a float32 copy of an activation alive from
     * the forward pass to the backward one).
     */
    private Value castTo(Value v, DType t, Node reader) {
        if (v.dtype() == t) {
            return v;
        }
        boolean share = rank(t) <= rank(v.dtype()) || v.node().op() == Op.INPUT;
        EnumMap<DType, Value> byType = casts.computeIfAbsent(v, k -> new EnumMap<>(DType.class));
        Value c = share ? byType.get(t) : null;
        if (c == null) {
            c = target.addFor(reader, Op.CAST, List.of(v), new OpAttrs.Cast(t), v.shape(), t);
            if (share) {
                byType.put(t, c);
            }
            report.recordCast(v, t, v.isInput(InputKind.PARAMETER));
        }
        return c;
    }
}
