package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

/**
 * A typed SSA value in a {@link Graph}: the output of exactly one node. Values are symbolic;
 * they hold no data. The fluent methods trace operations through {@link Ops}.
 */
public final class Value {
    private final Graph graph;
    private final Node node;
    private final Shape shape;
    private final DType dtype;

    Value(Graph graph, Node node, Shape shape, DType dtype) {
        this.graph = graph;
        this.node = node;
        this.shape = shape;
        this.dtype = dtype;
    }

    /** The graph this value belongs to. */
    public Graph graph() {
        return graph;
    }

    /** The node that produces this value. */
    public Node node() {
        return node;
    }

    /** Static shape. */
    public Shape shape() {
        return shape;
    }

    /** Element type. */
    public DType dtype() {
        return dtype;
    }

    /** SSA number, the producing node's id. */
    public int id() {
        return node.id();
    }

    /** Rank shortcut. */
    public int rank() {
        return shape.rank();
    }

    /** True when this value is a graph input of the given kind. */
    public boolean isInput(InputKind kind) {
        return node.op() == Op.INPUT && node.attrs(OpAttrs.Input.class).kind() == kind;
    }

    /** {@code %id} or the input's name, as printed. */
    public String ref() {
        return GraphPrinter.ref(this);
    }

    // ---- fluent tracing shortcuts (each is the same as the Ops method)

    public Value add(Value o) { return Ops.add(this, o); }
    public Value add(double c) { return Ops.add(this, Ops.constant(graph, c, dtype)); }
    public Value sub(Value o) { return Ops.sub(this, o); }
    public Value mul(Value o) { return Ops.mul(this, o); }
    public Value mul(double c) { return Ops.mul(this, Ops.constant(graph, c, dtype)); }
    public Value div(Value o) { return Ops.div(this, o); }
    public Value neg() { return Ops.neg(this); }
    public Value exp() { return Ops.exp(this); }
    public Value log() { return Ops.log(this); }
    public Value sqrt() { return Ops.sqrt(this); }
    public Value relu() { return Ops.relu(this); }
    public Value tanh() { return Ops.tanh(this); }
    public Value sigmoid() { return Ops.sigmoid(this); }
    public Value matmul(Value o) { return Ops.matmul(this, o); }
    public Value sum(int... axes) { return Ops.sum(this, false, axes); }
    public Value mean(int... axes) { return Ops.mean(this, false, axes); }
    public Value reshape(int... dims) { return Ops.reshape(this, dims); }
    public Value permute(int... perm) { return Ops.permute(this, perm); }
    public Value transpose() { return Ops.transpose(this); }
    public Value cast(DType to) { return Ops.cast(this, to); }

    @Override
    public String toString() {
        return ref() + ": " + dtype + shape;
    }
}
