package dev.frugal.runtime.graph;

import java.util.List;

/**
 * One operation in a {@link Graph}: its inputs, attributes, output value and where it was traced.
 * Nodes are immutable once added; transformations build new nodes.
 */
public final class Node {
    private final int id;
    private final Op op;
    private final List<Value> inputs;
    private final OpAttrs attrs;
    private final String callSite;
    private final String scope;
    private Value output; // set once by Graph right after construction; null for ASSIGN

    Node(int id, Op op, List<Value> inputs, OpAttrs attrs, String callSite, String scope) {
        this.id = id;
        this.op = op;
        this.inputs = List.copyOf(inputs);
        this.attrs = attrs;
        this.callSite = callSite;
        this.scope = scope;
    }

    void setOutput(Value output) {
        this.output = output;
    }

    /** Position of this node in its graph (trace order, which is a topological order). */
    public int id() {
        return id;
    }

    /** The operation. */
    public Op op() {
        return op;
    }

    /** The input values, in operation order. */
    public List<Value> inputs() {
        return inputs;
    }

    /** Input {@code i}. */
    public Value input(int i) {
        return inputs.get(i);
    }

    /** The static attributes. */
    public OpAttrs attrs() {
        return attrs;
    }

    /** The attributes cast to the expected record type. */
    public <T extends OpAttrs> T attrs(Class<T> type) {
        return type.cast(attrs);
    }

    /** The value this node produces, or null for an {@link Op#ASSIGN}. */
    public Value output() {
        return output;
    }

    /** Where the node was traced, as {@code Class.method(File.java:line)}. */
    public String callSite() {
        return callSite;
    }

    /** The composite operation (e.g. "softmax", "grad") this node was traced inside, or "" if none. */
    public String scope() {
        return scope;
    }

    @Override
    public String toString() {
        return GraphPrinter.formatNode(this);
    }
}
