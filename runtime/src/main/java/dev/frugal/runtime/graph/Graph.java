package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.LinkedHashMap;

/**
 * A typed SSA program: nodes in trace order (a topological order), each producing one value.
 *
 * <p>Graphs are built by tracing: create inputs with {@link #input}, {@link #parameter} or
 * {@link #state}, then call {@link Ops} (or the fluent methods on {@link Value}). Shapes and
 * dtypes are inferred and checked as each node is added. Transformations such as autodiff
 * append nodes to the same graph, so gradients are ordinary values that later passes can fuse,
 * recast and checkpoint. {@link #toString()} prints a readable listing.
 *
 * <p>A graph is not thread-safe; trace it from one thread.
 */
public final class Graph {
    private final String name;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Value> inputsByName = new LinkedHashMap<>();
    private final Deque<String> scopes = new ArrayDeque<>();

    /** An empty graph with a name used when printing. */
    public Graph(String name) {
        this.name = name;
    }

    /** An empty graph named "graph". */
    public Graph() {
        this("graph");
    }

    /** The graph's name. */
    public String name() {
        return name;
    }

    // ---------------------------------------------------------------- inputs

    /** A data input fed anew on each run. */
    public Value input(String name, Shape shape, DType dtype) {
        return addInput(name, shape, dtype, InputKind.DATA);
    }

    /** A trainable parameter input. */
    public Value parameter(String name, Shape shape, DType dtype) {
        return addInput(name, shape, dtype, InputKind.PARAMETER);
    }

    /** A persistent, non-trainable state input. */
    public Value state(String name, Shape shape, DType dtype) {
        return addInput(name, shape, dtype, InputKind.STATE);
    }

    /** The input of this graph named as {@code input}, another graph's input, or null. */
    public Value inputMatching(Value input) {
        return inputNamed(input.node().attrs(OpAttrs.Input.class).name());
    }

    /**
     * An input of this graph standing for {@code input}, another graph's input: the same name,
     * kind, shape and dtype. What a graph-to-graph pass makes of the inputs it copies.
     */
    public Value inputLike(Value input) {
        OpAttrs.Input a = input.node().attrs(OpAttrs.Input.class);
        return addInput(a.name(), input.shape(), input.dtype(), a.kind());
    }

    private Value addInput(String inputName, Shape shape, DType dtype, InputKind kind) {
        if (inputName == null || inputName.isBlank()) {
            throw new IllegalArgumentException("graph input needs a non-empty name");
        }
        if (inputsByName.containsKey(inputName)) {
            throw new IllegalArgumentException("graph '" + name + "' already has an input named '" + inputName + "'");
        }
        Value v = add(Op.INPUT, List.of(), new OpAttrs.Input(inputName, kind), shape, dtype);
        inputsByName.put(inputName, v);
        return v;
    }

    /** All inputs in declaration order. */
    public List<Value> inputs() {
        return List.copyOf(inputsByName.values());
    }

    /** Inputs of one kind, in declaration order. */
    public List<Value> inputs(InputKind kind) {
        return inputsByName.values().stream().filter(v -> v.isInput(kind)).toList();
    }

    /** The input with this name, or null. */
    public Value inputNamed(String inputName) {
        return inputsByName.get(inputName);
    }

    // ---------------------------------------------------------------- nodes

    /**
     * Appends a node. Used by {@link Ops} and graph transformations after they have checked the
     * inputs and inferred the output; not for general use.
     *
     * @return the node's output value, or null for {@link Op#ASSIGN}
     */
    public Value add(Op op, List<Value> inputs, OpAttrs attrs, Shape shape, DType dtype) {
        return append(op, inputs, attrs, shape, dtype, CallSite.capture(), currentScope());
    }

    /**
     * Appends a node that a graph-to-graph transformation derived from {@code origin} (another
     * graph's node): it keeps the origin's scope and call site, so listings and error messages
     * still point at the line that traced it. Inputs and output type are the transformation's
     * responsibility, as with {@link #add}.
     *
     * @return the node's output value, or null for {@link Op#ASSIGN}
     */
    public Value addDerived(Node origin, List<Value> inputs, Shape shape, DType dtype) {
        return append(origin.op(), inputs, origin.attrs(), shape, dtype, origin.callSite(), origin.scope());
    }

    /**
     * Appends a node a transformation inserted on behalf of {@code origin} (a cast before it,
     * say): it is labelled with the origin's scope and call site.
     *
     * @return the node's output value, or null for {@link Op#ASSIGN}
     */
    public Value addFor(Node origin, Op op, List<Value> inputs, OpAttrs attrs, Shape shape, DType dtype) {
        return append(op, inputs, attrs, shape, dtype, origin.callSite(), origin.scope());
    }

    private Value append(Op op, List<Value> inputs, OpAttrs attrs, Shape shape, DType dtype, String callSite, String scope) {
        for (Value in : inputs) {
            if (in.graph() != this) {
                throw new TraceException(op, "input " + in + " belongs to graph '" + in.graph().name() + "', not '" + name + "'", CallSite.capture());
            }
        }
        Node node = new Node(nodes.size(), op, inputs, attrs, callSite, scope);
        Value out = op == Op.ASSIGN ? null : new Value(this, node, shape, dtype);
        node.setOutput(out);
        nodes.add(node);
        return out;
    }

    /** All nodes in trace order. */
    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** The {@link Op#ASSIGN} nodes: the program's side effects. */
    public List<Node> effects() {
        return nodes.stream().filter(n -> n.op() == Op.ASSIGN).toList();
    }

    /**
     * The nodes needed to compute {@code outputs} and every effect, in trace order: dead code
     * (nodes nothing needed depends on) is left out.
     */
    public List<Node> liveNodes(List<Value> outputs) {
        Set<Node> live = new HashSet<>();
        Deque<Node> work = new ArrayDeque<>();
        for (Value v : outputs) {
            if (v.graph() != this) {
                throw new IllegalArgumentException("output " + v + " belongs to graph '" + v.graph().name() + "', not '" + name + "'");
            }
            work.add(v.node());
        }
        work.addAll(effects());
        while (!work.isEmpty()) {
            Node n = work.pop();
            if (live.add(n)) {
                for (Value in : n.inputs()) {
                    work.add(in.node());
                }
            }
        }
        return nodes.stream().filter(live::contains).toList();
    }

    // ---------------------------------------------------------------- scopes

    /**
     * Runs {@code body} with nodes labelled by a composite operation's name (printed, and used by
     * passes that treat a composite as a unit). Scopes nest as "outer/inner".
     */
    public <T> T inScope(String scope, java.util.function.Supplier<T> body) {
        scopes.push(scopes.isEmpty() ? scope : scopes.peek() + "/" + scope);
        try {
            return body.get();
        } finally {
            scopes.pop();
        }
    }

    private String currentScope() {
        return scopes.isEmpty() ? "" : scopes.peek();
    }

    /**
     * The scope nodes added now are labelled with ("" outside every scope). A pass that traces
     * into a scratch graph and copies the nodes here ({@link #addDerived}) traces inside this
     * scope, so the copies keep it (a copy made inside {@code stop_gradient} stays stopped).
     */
    public String scope() {
        return currentScope();
    }

    /** A readable listing, one node per line with its type, attributes and call site. */
    @Override
    public String toString() {
        return GraphPrinter.print(this);
    }
}
