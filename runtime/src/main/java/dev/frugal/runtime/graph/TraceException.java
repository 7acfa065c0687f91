package dev.frugal.runtime.graph;

/**
 * A shape, dtype or argument error found while tracing an operation. The message names the
 * operation (a primitive {@link Op} or a composite such as {@code softmax}), the offending shapes
 * or values, what was expected, and the user's call site.
 */
public final class TraceException extends IllegalArgumentException {
    private final Op op;
    private final String operation;
    private final String callSite;

    /** An error for the primitive {@code op}, traced at {@code callSite}. */
    public TraceException(Op op, String problem, String callSite) {
        super(op.printName() + ": " + problem + " (at " + callSite + ")");
        this.op = op;
        this.operation = op.printName();
        this.callSite = callSite;
    }

    /**
     * An error for a composite operation (one of {@link Functional}'s, e.g. {@code "layer_norm"}),
     * which has no {@link Op} of its own, traced at {@code callSite}.
     */
    public TraceException(String operation, String problem, String callSite) {
        super(operation + ": " + problem + " (at " + callSite + ")");
        this.op = null;
        this.operation = operation;
        this.callSite = callSite;
    }

    /** The primitive operation that was being traced, or null when it was a composite one. */
    public Op op() {
        return op;
    }

    /** The printed name of the operation that was being traced (primitive or composite). */
    public String operation() {
        return operation;
    }

    /** Where the user called it, as {@code Class.method(File.java:line)}. */
    public String callSite() {
        return callSite;
    }
}
