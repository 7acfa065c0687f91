package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Common subexpression elimination over the live part of a graph, before fusion and memory
 * planning: a node that repeats an earlier node (same operation, attributes, shape, dtype and
 * the same input values) is dropped and its readers read the earlier node's value instead.
 *
 * <p>A traced training step repeats a lot: every {@code Ops.constant} call is a node of its own
 * (the optimizer's 1 - beta, 0.5, the epsilon of every layer), and an optimizer computes the
 * same step-dependent scalars (bias corrections, the scheduled learning rate, the loss scaler's
 * inverse scale) once per parameter. Each of those is a kernel call per step; one of each is
 * enough. Walking the nodes in order, inputs are replaced before their readers are looked up,
 * so chains of repeats collapse as a whole (two constants 0.9, then the two {@code pow(0.9, t)}
 * reading them).
 *
 * <p>Every operation of the graph is a pure function of its inputs and attributes (a random
 * draw of its seed, stream and counter), so merging repeats never changes a result. Graph
 * inputs and assignments are never merged, nor are tensor-sized elementwise repeats, which
 * fusion recomputes for free ({@link #mergeable}).
 */
public final class CommonSubexpressions {
    private CommonSubexpressions() {
    }

    /**
     * What {@link #apply} made.
     *
     * @param graph   the rewritten graph, or the source graph when nothing repeats
     * @param outputs the outputs' counterparts, in order
     * @param merged  how many nodes were dropped as repeats
     */
    public record Result(Graph graph, List<Value> outputs, int merged) {
        /** The input of {@link #graph} that stands for the source input {@code in} (inputs keep their names). */
        public Value inputFor(Value in) {
            return graph.inputMatching(in);
        }
    }

    /** A node's identity for merging: its inputs are compared by identity (after replacement). */
    private record Key(Op op, OpAttrs attrs, Shape shape, DType dtype, List<Value> inputs) {
        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key k) || op != k.op || dtype != k.dtype || !attrs.equals(k.attrs) || !shape.equals(k.shape)
                    || inputs.size() != k.inputs.size()) {
                return false;
            }
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i) != k.inputs.get(i)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public int hashCode() {
            int h = (op.hashCode() * 31 + attrs.hashCode()) * 31 + shape.hashCode();
            for (Value v : inputs) {
                h = h * 31 + System.identityHashCode(v);
            }
            return h;
        }
    }

    /** Merges the repeats among the nodes {@code outputs} and the graph's assignments need. */
    public static Result apply(Graph source, List<Value> outputs) {
        List<Node> live = source.liveNodes(outputs);
        if (countRepeats(live) == 0) {
            return new Result(source, List.copyOf(outputs), 0);
        }
        Graph target = new Graph(source.name());
        Map<Value, Value> map = new IdentityHashMap<>();
        Map<Key, Value> seen = new HashMap<>();
        int merged = 0;
        for (Node n : live) {
            List<Value> inputs = new ArrayList<>(n.inputs().size());
            for (Value in : n.inputs()) {
                inputs.add(map.get(in));
            }
            switch (n.op()) {
                case INPUT -> map.put(n.output(), target.inputLike(n.output()));
                case ASSIGN -> target.addDerived(n, inputs, n.input(1).shape(), n.input(0).dtype());
                default -> {
                    Value out = n.output();
                    Key key = new Key(n.op(), n.attrs(), out.shape(), out.dtype(), inputs);
                    Value earlier = mergeable(n) ? seen.get(key) : null;
                    if (earlier != null) {
                        map.put(out, earlier);
                        merged++;
                    } else {
                        Value copy = target.addDerived(n, inputs, out.shape(), out.dtype());
                        seen.put(key, copy);
                        map.put(out, copy);
                    }
                }
            }
        }
        List<Value> newOutputs = new ArrayList<>(outputs.size());
        for (Value out : outputs) {
            newOutputs.add(map.get(out));
        }
        return new Result(target, List.copyOf(newOutputs), merged);
    }

    /**
     * Whether a repeat of {@code n} is merged: always for scalars and for the ops that are work of
     * their own (contractions, reductions, movement other than broadcasts, sources); never for a
     * tensor-sized elementwise node, broadcast or random draw. Those cost nothing inside a fused
     * kernel, and a repeat there is usually deliberate: the autocast pass gives each reader of an
     * activation its own widening cast so that each fuses into its reader's pass. Merged, the one
     * cast would be read by several groups and stored, a float32 copy of the activation.
     */
    private static boolean mergeable(Node n) {
        if (n.output().shape().numel() <= 1) {
            return true;
        }
        return !(n.op().isElementwise() || n.op() == Op.EXPAND || n.op() == Op.RANDOM_UNIFORM);
    }

    /** How many of {@code live} repeat an earlier node, judged on the source graph's own values. */
    private static int countRepeats(List<Node> live) {
        // A cheap first pass: without a repeat among the source's own nodes (inputs compared as
        // they are) there is none after replacement either, and the graph is kept as it is.
        java.util.Set<Key> seen = new java.util.HashSet<>();
        int repeats = 0;
        for (Node n : live) {
            if (n.op() == Op.INPUT || n.op() == Op.ASSIGN) {
                continue;
            }
            Value out = n.output();
            if (mergeable(n) && !seen.add(new Key(n.op(), n.attrs(), out.shape(), out.dtype(), n.inputs()))) {
                repeats++;
            }
        }
        return repeats;
    }
}
