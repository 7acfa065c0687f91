package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.graph.CallSite;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.TraceException;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation as a graph-to-graph transformation (as in JAX): the
 * gradients are ordinary nodes appended to the same {@link Graph}, traced inside a {@code grad}
 * scope, so the later passes (autocast, fusion, checkpointing, memory planning) see and
 * transform the backward pass like any other code, and the printed graph shows it.
 *
 * <p>The sweep visits, in reverse trace order, only the nodes that lie on a path from a
 * {@code wrt} value to an output, applies each node's vector-Jacobian product (one rule per
 * primitive op, see {@link GradRules}), and accumulates the gradients of values with several
 * consumers by ADD. Integer and boolean values carry no gradient; nodes traced inside
 * {@link Functional#stopGradient} are treated as constants.
 *
 * <pre>{@code
 * Value loss = Functional.crossEntropy(Functional.linear(x, w, b), labels, 0.0);
 * List<Value> grads = Autodiff.grad(loss, List.of(w, b));   // same shapes as w and b
 * }</pre>
 */
public final class Autodiff {
    /** The scope that every gradient node is traced in. */
    public static final String SCOPE = "grad";

    private static final String OPERATION = "grad";

    private Autodiff() {
    }

    /**
     * The gradients of a scalar {@code loss} with respect to each of {@code wrt}.
     *
     * @param loss a floating-point value with one element
     * @param wrt  floating-point values of the same graph (usually parameters); a value the loss
     *             does not depend on gets zeros
     * @return one gradient per {@code wrt} entry, with its shape and dtype
     */
    public static List<Value> grad(Value loss, List<Value> wrt) {
        if (!loss.dtype().isFloating() || loss.shape().numel() != 1) {
            throw error("loss must be a floating-point scalar, got " + loss + "; reduce it (e.g. with a sum or mean) first");
        }
        Value seed = loss.graph().inScope(SCOPE, () -> Ops.full(loss.graph(), loss.shape(), 1.0, loss.dtype()));
        return vjp(List.of(loss), List.of(seed), wrt);
    }

    /**
     * The vector-Jacobian product: for each {@code wrt} value x, the sum over outputs of
     * {@code J_out(x)^T * cotangent}.
     *
     * @param outputs    floating-point values to differentiate
     * @param cotangents one per output, with its shape and dtype (the "upstream" gradients)
     * @param wrt        floating-point values of the same graph
     * @return one gradient per {@code wrt} entry, with its shape and dtype
     */
    public static List<Value> vjp(List<Value> outputs, List<Value> cotangents, List<Value> wrt) {
        if (outputs.isEmpty()) {
            throw error("needs at least one output to differentiate");
        }
        if (outputs.size() != cotangents.size()) {
            throw error(outputs.size() + " outputs but " + cotangents.size() + " cotangents; give one cotangent per output");
        }
        Graph graph = outputs.get(0).graph();
        for (int i = 0; i < outputs.size(); i++) {
            Value out = outputs.get(i);
            Value ct = cotangents.get(i);
            checkGraph(graph, out, "output");
            checkGraph(graph, ct, "cotangent");
            if (!out.dtype().isFloating()) {
                throw error("output " + out + " is not floating-point; integer and bool values carry no gradient");
            }
            if (!ct.shape().equals(out.shape()) || ct.dtype() != out.dtype()) {
                throw error("cotangent " + ct + " does not match output " + out + " (same shape and dtype expected)");
            }
        }
        for (Value x : wrt) {
            checkGraph(graph, x, "wrt value");
            if (!x.dtype().isFloating()) {
                throw error("cannot differentiate with respect to " + x + ": integer and bool values carry no gradient");
            }
        }
        return graph.inScope(SCOPE, () -> sweep(graph, outputs, cotangents, wrt));
    }

    private static List<Value> sweep(Graph graph, List<Value> outputs, List<Value> cotangents, List<Value> wrt) {
        List<Node> nodes = graph.nodes();
        int last = 0;
        for (Value out : outputs) {
            last = Math.max(last, out.id());
        }
        boolean[] active = activeNodes(nodes, outputs, wrt, last);

        Map<Value, Value> adjoint = new HashMap<>();
        for (int i = 0; i < outputs.size(); i++) {
            accumulate(adjoint, outputs.get(i), cotangents.get(i));
        }
        for (int id = last; id >= 0; id--) {
            Node node = nodes.get(id);
            Value y = node.output();
            if (!active[id] || y == null || Functional.isGradientStopped(node)) {
                continue;
            }
            Value g = adjoint.get(y);
            if (g == null) {
                continue;
            }
            List<Value> inputs = node.inputs();
            boolean[] needs = new boolean[inputs.size()];
            boolean any = false;
            for (int i = 0; i < needs.length; i++) {
                Value in = inputs.get(i);
                needs[i] = active[in.id()] && in.dtype().isFloating();
                any |= needs[i];
            }
            if (!any) {
                continue;
            }
            Value[] grads = GradRules.backward(node, g, needs);
            for (int i = 0; i < needs.length; i++) {
                if (needs[i] && grads[i] != null) {
                    Value in = inputs.get(i);
                    if (!grads[i].shape().equals(in.shape()) || grads[i].dtype() != in.dtype()) {
                        // a rule bug, not a user error: say which rule so it can be fixed
                        throw new IllegalStateException("gradient rule for " + node.op().printName() + " produced " + grads[i]
                                + " for input " + in + " of node " + node);
                    }
                    accumulate(adjoint, in, grads[i]);
                }
            }
        }
        List<Value> result = new ArrayList<>(wrt.size());
        for (Value x : wrt) {
            Value g = adjoint.get(x);
            result.add(g != null ? g : Ops.full(graph, x.shape(), 0.0, x.dtype()));
        }
        return result;
    }

    /**
     * Marks the nodes that lie between {@code wrt} and {@code outputs}: those depending on some
     * wrt value (through nodes that are not gradient-stopped) that some output depends on.
     */
    private static boolean[] activeNodes(List<Node> nodes, List<Value> outputs, List<Value> wrt, int last) {
        boolean[] fromWrt = new boolean[last + 1];
        int first = last + 1;
        for (Value x : wrt) {
            if (x.id() <= last) {
                fromWrt[x.id()] = true;
                first = Math.min(first, x.id());
            }
        }
        for (int id = first; id <= last; id++) {
            Node node = nodes.get(id);
            if (fromWrt[id] || Functional.isGradientStopped(node)) {
                continue;
            }
            for (Value in : node.inputs()) {
                if (fromWrt[in.id()]) {
                    fromWrt[id] = true;
                    break;
                }
            }
        }
        boolean[] toOutput = new boolean[last + 1];
        for (Value out : outputs) {
            toOutput[out.id()] = true;
        }
        for (int id = last; id >= first; id--) {
            if (toOutput[id]) {
                for (Value in : nodes.get(id).inputs()) {
                    toOutput[in.id()] = true;
                }
            }
        }
        boolean[] active = new boolean[last + 1];
        for (int id = 0; id <= last; id++) {
            active[id] = fromWrt[id] && toOutput[id];
        }
        return active;
    }

    private static void accumulate(Map<Value, Value> adjoint, Value v, Value g) {
        adjoint.merge(v, g, Ops::add);
    }

    private static void checkGraph(Graph graph, Value v, String what) {
        if (v.graph() != graph) {
            throw error(what + " " + v + " belongs to graph '" + v.graph().name() + "', not '" + graph.name() + "'");
        }
    }

    private static TraceException error(String problem) {
        return new TraceException(OPERATION, problem, CallSite.capture());
    }
}
